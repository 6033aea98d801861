package compose

import (
	"strings"
	"testing"
)

func TestParseScale(t *testing.T) {
	tests := []struct {
		args    []string
		want    map[string]int
		wantErr string
	}{
		{args: []string{"web=3", "db=0"}, want: map[string]int{"web": 3, "db": 0}},
		{args: []string{"web=3", "web=1"}, want: map[string]int{"web": 1}},
		{args: []string{"web"}, wantErr: `invalid --scale "web": it should be SERVICE=NUM`},
		{args: []string{"=2"}, wantErr: `invalid --scale "=2"`},
		{args: []string{"web="}, wantErr: `invalid --scale "web="`},
		{args: []string{"web=x"}, wantErr: `"x" is not a number of replicas`},
		{args: []string{"web=-1"}, wantErr: `"-1" is not a number of replicas`},
	}
	for _, tt := range tests {
		got, err := ParseScale("--scale", tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseScale(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseScale(%q): %v", tt.args, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseScale(%q) = %v, want %v", tt.args, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseScale(%q) = %v, want %v", tt.args, got, tt.want)
			}
		}
	}
}

func TestCheckReplicas(t *testing.T) {
	fixed := PortMapping{HostPortMin: 8080, HostPortMax: 8080, ContainerPort: 80, Protocol: "tcp"}
	rng := PortMapping{HostPortMin: 8080, HostPortMax: 8081, ContainerPort: 80, Protocol: "tcp"}
	free := PortMapping{ContainerPort: 80, Protocol: "tcp"}
	tests := []struct {
		name    string
		s       Service
		n       int
		wantErr string
	}{
		{name: "plain", s: Service{Name: "web"}, n: 5},
		{name: "zero", s: Service{Name: "web", ContainerName: "x", Ports: []PortMapping{fixed}}, n: 0},
		{name: "container_name alone", s: Service{Name: "web", ContainerName: "x"}, n: 1},
		{name: "container_name", s: Service{Name: "web", ContainerName: "x"}, n: 2, wantErr: `service "web" cannot be scaled to 2: its container_name "x" must be unique`},
		{name: "fixed port", s: Service{Name: "web", Ports: []PortMapping{free, fixed}}, n: 2, wantErr: `service "web" cannot be scaled to 2: port 8080:80/tcp publishes host port 8080, which only 1 of its containers can hold`},
		{name: "range wide enough", s: Service{Name: "web", Ports: []PortMapping{rng}}, n: 2},
		{name: "range too narrow", s: Service{Name: "web", Ports: []PortMapping{rng}}, n: 3, wantErr: `port 8080-8081:80/tcp publishes the 2 host ports 8080-8081, which only 2 of its containers can hold`},
		{name: "free ports", s: Service{Name: "web", Ports: []PortMapping{free}}, n: 9},
		{name: "negative", s: Service{Name: "web"}, n: -1, wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.CheckReplicas(tt.n)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckReplicas(%d) = %v, want nil", tt.n, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckReplicas(%d) = %v, want %q", tt.n, err, tt.wantErr)
			}
		})
	}
}

func TestSetScale(t *testing.T) {
	p := &Project{Name: "demo", Services: []*Service{{Name: "web", Replicas: 1}, {Name: "db", Replicas: 1, ContainerName: "db"}}, DisabledServices: []string{"debug"}}
	if err := p.SetScale(map[string]int{"web": 3, "db": 0}); err != nil {
		t.Fatal(err)
	}
	if p.Service("web").Replicas != 3 || p.Service("db").Replicas != 0 {
		t.Errorf("replicas = %d, %d, want 3, 0", p.Service("web").Replicas, p.Service("db").Replicas)
	}
	for spec, want := range map[string]string{
		"nope":  `cannot scale service "nope": no such service (services: web, db)`,
		"debug": `cannot scale service "debug": it is not enabled`,
		"db":    `service "db" cannot be scaled to 2`,
	} {
		err := p.SetScale(map[string]int{"web": 1, spec: 2})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SetScale(%s=2) = %v, want %q", spec, err, want)
		}
		if p.Service("web").Replicas != 3 {
			t.Errorf("SetScale(%s=2) failed but changed web to %d replicas", spec, p.Service("web").Replicas)
		}
	}
}
