package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/scheduler"
)

func TestPsTemplate(t *testing.T) {
	rows := []psEntry{
		{Name: "demo-web-1", Service: "web", State: "running", Ports: "80/tcp", labels: map[string]string{compose.LabelProject: "demo"}},
		{Name: "demo-db-1", Service: "db", State: "exited", Ports: "0.0.0.0:5432->5432/tcp", labels: map[string]string{compose.LabelProject: "demo"}},
	}
	tests := []struct {
		format string
		want   string
	}{
		{"{{.Name}}", "demo-web-1\ndemo-db-1\n"},
		{`{{.Service}}\t{{.State}}`, "web\trunning\ndb\texited\n"},
		{`{{.Label "com.docker.compose.project"}}/{{upper .Service}}`, "demo/WEB\ndemo/DB\n"},
		{"{{json .Name}}", "\"demo-web-1\"\n\"demo-db-1\"\n"},
		{`table {{.Name}}\t{{.State}}\t{{.Ports}}`, "" +
			"NAME         STATE     PORTS\n" +
			"demo-web-1   running   80/tcp\n" +
			"demo-db-1    exited    0.0.0.0:5432->5432/tcp\n"},
		{"table {{.Service}}", "SERVICE\nweb\ndb\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			f, err := psTemplate(tt.format)
			if err != nil || f == nil {
				t.Fatalf("psTemplate(%q) = %v, %v", tt.format, f, err)
			}
			var out bytes.Buffer
			if err := f.write(&out, rows); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("ps --format %q printed\n%q\nwant\n%q", tt.format, out.String(), tt.want)
			}
		})
	}
	for _, builtin := range []string{"table", "json"} {
		if f, err := psTemplate(builtin); f != nil || err != nil {
			t.Errorf("psTemplate(%q) = %v, %v; want the built-in format", builtin, f, err)
		}
	}
	if _, err := psTemplate("{{.Name"); err == nil || !strings.Contains(err.Error(), "ps --format") {
		t.Errorf("psTemplate of a broken template = %v, want an error", err)
	}
	f, _ := psTemplate("{{.Nope}}")
	if err := f.write(&bytes.Buffer{}, rows); err == nil {
		t.Error("a template naming no field printed, want an error")
	}
}

func TestPsPublishers(t *testing.T) {
	binding := netbridge.PortBinding{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8001, ContainerPort: 8000, Protocol: "tcp"}
	tests := []struct {
		name      string
		bindings  []netbridge.PortBinding
		expose    []string
		want      string
		wantCount int
	}{
		{"exposed", nil, []string{"8080", "80", "443"}, "80/tcp, 443/tcp, 8080/tcp", 3},
		{"published", []netbridge.PortBinding{binding}, nil, "127.0.0.1:8001->8000/tcp", 1},
		{"exposed and published", []netbridge.PortBinding{binding}, []string{"8000", "9000/udp"}, "9000/udp, 127.0.0.1:8001->8000/tcp", 2},
		{"a range", nil, []string{"8000-8002", "8003", "53/udp"}, "8000-8003/tcp, 53/udp", 5},
		{"none", nil, nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pubs, ports := publishers(tt.bindings, tt.expose)
			if ports != tt.want || len(pubs) != tt.wantCount {
				t.Errorf("publishers(%v, expose %q) = %d publishers, %q; want %d, %q", tt.bindings, tt.expose, len(pubs), ports, tt.wantCount, tt.want)
			}
		})
	}
}

func TestPsKeepsOneOffs(t *testing.T) {
	run := scheduler.Container{State: scheduler.StateExited, Labels: compose.Labels{compose.LabelService: "web", compose.LabelOneOff: "True"}}
	running := run
	running.State = scheduler.StateRunning
	tests := []struct {
		name string
		c    scheduler.Container
		opts psOptions
		want bool
	}{
		{"running one-off, no -a", running, psOptions{}, false},
		{"exited one-off, -a", run, psOptions{all: true}, true},
		{"running one-off, -a", running, psOptions{all: true}, true},
		{"exited one-off, --status exited", run, psOptions{status: []string{"exited"}}, true},
	}
	for _, tt := range tests {
		if got := keep(tt.c, nil, tt.opts); got != tt.want {
			t.Errorf("%s: keep = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPsServiceResources(t *testing.T) {
	s := &compose.Service{
		Networks: []compose.ServiceNetwork{{Key: "default", Name: "demo_default"}, {Key: "back", Name: "demo_back"}},
		Mounts: []compose.Mount{
			{Type: compose.MountVolume, Source: "demo_data", Target: "/data"},
			{Type: compose.MountBind, Source: "/srv/app", Target: "/app"},
			{Type: compose.MountTmpfs, Target: "/tmp"},
		},
	}
	tests := []struct {
		name                    string
		s                       *compose.Service
		volumes                 []string
		nets, mounts, localVols string
	}{
		{"service", s, []string{"demo_data"}, "demo_default,demo_back", "demo_data,/srv/app", "1"},
		{"one-off with run -v", s, []string{"demo_data", "demo_extra"}, "demo_default,demo_back", "demo_data,/srv/app,demo_extra", "2"},
		{"no compose file", nil, []string{"demo_data"}, "", "demo_data", "1"},
		{"host network", &compose.Service{NetworkMode: "host"}, nil, "", "", "0"},
	}
	for _, tt := range tests {
		nets, mounts, local := serviceResources(tt.s, scheduler.Container{Volumes: tt.volumes})
		if nets != tt.nets || mounts != tt.mounts || local != tt.localVols {
			t.Errorf("%s: serviceResources = %q, %q, %q; want %q, %q, %q", tt.name, nets, mounts, local, tt.nets, tt.mounts, tt.localVols)
		}
	}
}
