package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/scheduler"
)

// plainContainer is a plain container as the runtime lists it.
func plainContainer(t *testing.T, state scheduler.State) scheduler.Container {
	t.Helper()
	created := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	return scheduler.Container{
		ID: "web", Name: "web", Image: "busybox", State: state, ExitCode: 0, Created: created, StartedAt: created.Add(time.Second),
		Command: "httpd -f -p 8080",
		Labels: compose.Labels{
			compose.LabelProject: compose.ContainersProject, compose.LabelService: "web", compose.LabelNumber: "1",
			compose.LabelStandalone: "true", compose.LabelContainerID: strings.Repeat("ab", 32), compose.LabelImageID: "sha256:1234",
			compose.LabelRestart: `{"Condition":"on-failure","MaxAttempts":3}`, compose.LabelNetNSPath: "/run/netns/berth-web",
			"team": "core",
		},
	}
}

var webPorts = []netbridge.PortBinding{{Container: "web", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, Protocol: "tcp", ContainerPort: 80}}

var webEndpoints = []netbridge.NetworkEndpoint{{Network: "bridge", Addr: netip.MustParsePrefix("10.89.0.2/24"), Gateway: netip.MustParseAddr("10.89.0.1"), Names: []string{"web"}}}

// jsonKeys are the keys of a JSON object, sorted.
func jsonKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestInspectOfDockerJSON(t *testing.T) {
	c := plainContainer(t, scheduler.StateRunning)
	cfg := containerd.ContainerConfig{Cmd: []string{"httpd", "-f"}, Entrypoint: []string{"/init"}, Env: []string{"PATH=/bin"}, Hostname: "web", Pid: 42,
		MemoryLimit: 64 << 20, NanoCPUs: 5e8, Mounts: []containerd.ContainerMount{{Type: "bind", Source: "/srv", Destination: "/data"}}}
	ci := inspectOf(c, cfg, webPorts, webEndpoints, true, time.Now())
	b, err := json.Marshal(ci)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"":                "Args Config Created HostConfig Id Image Mounts Name NetworkSettings Path RestartCount State",
		"State":           "Dead Error ExitCode FinishedAt OOMKilled Paused Pid Restarting Running StartedAt Status",
		"Config":          "Cmd Entrypoint Env Hostname Image Labels Tty User WorkingDir",
		"HostConfig":      "AutoRemove Binds Memory NanoCpus NetworkMode PortBindings RestartPolicy",
		"NetworkSettings": "Gateway IPAddress IPPrefixLen Networks Ports",
	}
	for key, want := range checks {
		raw := json.RawMessage(b)
		if key != "" {
			raw = top[key]
		}
		if got := strings.Join(jsonKeys(t, raw), " "); got != want {
			t.Errorf("inspect %s keys = %s, want %s", key, got, want)
		}
	}
	if ci.ID != strings.Repeat("ab", 32) || ci.Name != "/web" || ci.Image != "sha256:1234" || ci.Path != "/init" || strings.Join(ci.Args, " ") != "httpd -f" {
		t.Errorf("inspect = %+v", ci)
	}
	if s := ci.State; s.Status != "running" || !s.Running || s.Pid != 42 || s.StartedAt != "2026-12-06T01:00:01Z" || s.FinishedAt != "0001-01-01T00:00:00Z" {
		t.Errorf("State = %+v", s)
	}
	if h := ci.HostConfig; h.RestartPolicy != (inspectRestartPolicy{Name: "on-failure", MaximumRetryCount: 3}) || h.NetworkMode != "bridge" ||
		h.Memory != 64<<20 || h.NanoCpus != 5e8 || !reflect.DeepEqual(h.Binds, []string{"/srv:/data:ro"}) ||
		!reflect.DeepEqual(h.PortBindings["80/tcp"], []inspectPortBinding{{HostIP: "127.0.0.1", HostPort: "8080"}}) {
		t.Errorf("HostConfig = %+v", h)
	}
	if n := ci.NetworkSettings; n.IPAddress != "10.89.0.2" || n.IPPrefixLen != 24 || n.Gateway != "10.89.0.1" || n.Networks["bridge"].IPAddress != "10.89.0.2" ||
		!reflect.DeepEqual(n.Ports["80/tcp"], []inspectPortBinding{{HostIP: "127.0.0.1", HostPort: "8080"}}) {
		t.Errorf("NetworkSettings = %+v", n)
	}
	if l := ci.Config.Labels; !reflect.DeepEqual(l, map[string]string{"team": "core"}) {
		t.Errorf("Config.Labels = %v, want the user's only", l)
	}
	if len(ci.Mounts) != 1 || ci.Mounts[0] != (inspectMount{Type: "bind", Source: "/srv", Destination: "/data", Mode: "ro", RW: false}) {
		t.Errorf("Mounts = %+v", ci.Mounts)
	}
}

func TestInspectOfNetworkModes(t *testing.T) {
	c := plainContainer(t, scheduler.StateExited)
	c.ExitCode = 3
	c.FinishedAt = c.StartedAt.Add(time.Minute)
	tests := []struct {
		name    string
		netns   string
		eps     []netbridge.NetworkEndpoint
		project string
		want    string
	}{
		{"default bridge", "/run/netns/berth-web", webEndpoints, compose.ContainersProject, "bridge"},
		{"host", "", nil, compose.ContainersProject, "host"},
		{"none", "/run/netns/berth-web", nil, compose.ContainersProject, "none"},
		{"a project's network", "/run/netns/berth-web", []netbridge.NetworkEndpoint{{Network: "shop_default", Addr: netip.MustParsePrefix("10.89.1.2/24")}}, compose.ContainersProject, "shop_default"},
	}
	for _, tt := range tests {
		c.Labels[compose.LabelNetNSPath] = tt.netns
		ci := inspectOf(c, containerd.ContainerConfig{}, nil, tt.eps, true, time.Now())
		if ci.HostConfig.NetworkMode != tt.want {
			t.Errorf("%s: NetworkMode = %q, want %q", tt.name, ci.HostConfig.NetworkMode, tt.want)
		}
		if ci.State.Status != "exited" || ci.State.Running || ci.State.ExitCode != 3 || ci.State.FinishedAt != "2026-12-06T01:01:01Z" {
			t.Errorf("%s: State = %+v", tt.name, ci.State)
		}
	}
}

// fakeNetworkInfo is containerNetworkInfo from fixed tables.
type fakeNetworkInfo struct {
	ports map[string][]netbridge.PortBinding
	eps   map[string][]netbridge.NetworkEndpoint
}

func (f fakeNetworkInfo) Ports(c string) ([]netbridge.PortBinding, error) { return f.ports[c], nil }
func (f fakeNetworkInfo) Endpoints(c string) ([]netbridge.NetworkEndpoint, error) {
	return f.eps[c], nil
}

func TestContainerLsRows(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	web := plainContainer(t, scheduler.StateRunning)
	web.Created, web.StartedAt = now.Add(-time.Hour), now.Add(-time.Hour)
	old := plainContainer(t, scheduler.StateExited)
	old.ID, old.Name, old.ExitCode, old.Created, old.FinishedAt = "old", "old", 1, now.Add(-2*time.Hour), now.Add(-time.Hour)
	old.Labels = compose.Labels{compose.LabelProject: "shop", compose.LabelService: "db", compose.LabelNumber: "1"}
	nets := fakeNetworkInfo{ports: map[string][]netbridge.PortBinding{"web": webPorts}, eps: map[string][]netbridge.NetworkEndpoint{"web": webEndpoints}}
	never := func(string) bool { return false }

	rows, err := containerLsRows([]scheduler.Container{old, web}, containerLsOptions{}, nets, never, now)
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows = %+v, %v; want the running container only", rows, err)
	}
	r := rows[0]
	if r.ID != "abababababab" || r.Names != "web" || r.Image != "busybox" || r.Command != `"httpd -f -p 8080"` || r.Status != "Up About an hour" ||
		r.Ports != "127.0.0.1:8080->80/tcp" || r.Networks != "bridge" || r.Labels != "team=core" || r.State != "running" || r.RunningFor != "About an hour ago" {
		t.Errorf("row = %+v", r)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r); err != nil {
		t.Fatal(err)
	}
	want := "Command CreatedAt ID Image Labels LocalVolumes Mounts Names Networks Ports RunningFor Size State Status"
	if got := strings.Join(jsonKeys(t, buf.Bytes()), " "); got != want {
		t.Errorf("ls --format json keys = %s, want docker's %s", got, want)
	}

	rows, _ = containerLsRows([]scheduler.Container{old, web}, containerLsOptions{all: true, noTrunc: true}, nets, never, now)
	if len(rows) != 2 || rows[0].Names != "web" || rows[1].Names != "old" || rows[1].Status != "Exited (1) About an hour ago" || len(rows[0].ID) != 64 {
		t.Errorf("ls -a --no-trunc rows = %+v, want newest first, full IDs", rows)
	}
	if !strings.Contains(rows[1].Labels, "com.docker.compose.project=shop") {
		t.Errorf("a compose container's labels = %q, want its compose labels", rows[1].Labels)
	}
}

func TestPrintPorts(t *testing.T) {
	bindings := []netbridge.PortBinding{
		{HostPort: 5353, Protocol: "udp", ContainerPort: 53},
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, Protocol: "tcp", ContainerPort: 80},
	}
	tests := []struct{ private, want, err string }{
		{"", "53/udp -> 0.0.0.0:5353\n80/tcp -> 127.0.0.1:8080\n", ""},
		{"80", "127.0.0.1:8080\n", ""},
		{"53/udp", "0.0.0.0:5353\n", ""},
		{"53", "", "no public port '53/tcp' published for web"},
		{"http", "", `invalid port "http"`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := printPorts(&buf, "web", bindings, tt.private)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("printPorts(%q) = %v, want %q", tt.private, err, tt.err)
			}
			continue
		}
		if err != nil || buf.String() != tt.want {
			t.Errorf("printPorts(%q) = %q, %v; want %q", tt.private, buf.String(), err, tt.want)
		}
	}
}

func TestStartErrorCodes(t *testing.T) {
	tests := []struct {
		msg  string
		code int
	}{
		{`exec: "nosuch": executable file not found in $PATH`, 127},
		{`exec: "/x": stat /x: no such file or directory`, 127},
		{`exec: "/etc": permission denied`, 126},
		{"the registry cannot be reached", 125},
	}
	for _, tt := range tests {
		var ee exitError
		if err := startError(errors.New(tt.msg)); !errors.As(err, &ee) || ee.code != tt.code {
			t.Errorf("startError(%q) = %v, want exit %d", tt.msg, err, tt.code)
		}
	}
}

func TestContainerFilter(t *testing.T) {
	web := plainContainer(t, scheduler.StateRunning)
	old := plainContainer(t, scheduler.StateExited)
	old.ID, old.Name, old.ExitCode = "old", "old", 1
	old.Labels = compose.Labels{"team": "data"}
	tests := []struct {
		filters []string
		want    string
	}{
		{nil, "web old"},
		{[]string{"name=^we"}, "web"},
		{[]string{"name=web", "name=old"}, "web old"},
		{[]string{"status=exited"}, "old"},
		{[]string{"label=team"}, "web old"},
		{[]string{"label=team=core"}, "web"},
		{[]string{"label=team", "status=running"}, "web"},
		{[]string{"exited=1"}, "old"},
		{[]string{"id=abab"}, "web"},
	}
	for _, tt := range tests {
		match, err := containerFilter(tt.filters)
		if err != nil {
			t.Fatalf("containerFilter(%q): %v", tt.filters, err)
		}
		var got []string
		for _, c := range []scheduler.Container{web, old} {
			if match(c) {
				got = append(got, c.Name)
			}
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("containerFilter(%q) keeps %q, want %q", tt.filters, got, tt.want)
		}
	}
	for _, bad := range []string{"name", "status=sleeping", "colour=red", "exited=x", "name=("} {
		if _, err := containerFilter([]string{bad}); err == nil || !strings.Contains(err.Error(), "invalid filter") {
			t.Errorf("containerFilter(%q) = %v, want an invalid filter error", bad, err)
		}
	}
}
