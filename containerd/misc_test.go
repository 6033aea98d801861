package containerd

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestNormalizeRef(t *testing.T) {
	tests := []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"me/app:1", "docker.io/me/app:1"},
		{"127.0.0.1:5000/e2e/busybox:1", "127.0.0.1:5000/e2e/busybox:1"},
		{"localhost/x", "localhost/x:latest"},
	}
	for _, tt := range tests {
		if got, err := NormalizeRef(tt.in); err != nil || got != tt.want {
			t.Errorf("NormalizeRef(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := NormalizeRef("bad ref!"); err == nil {
		t.Errorf("NormalizeRef(bad ref!) = nil error, want one")
	}
}

func TestIsPlainHTTP(t *testing.T) {
	insecure := []string{"registry.lan:5000", "http://other.lan"}
	tests := []struct {
		host string
		want bool
	}{
		{"localhost:5000", true},
		{"localhost", true},
		{"127.0.0.1:5000", true},
		{"127.8.9.10", true},
		{"[::1]:5000", true},
		{"registry.lan:5000", true},
		{"registry.lan:443", false},
		{"other.lan", true},
		{"registry-1.docker.io", false},
		{"10.0.0.1:5000", false},
	}
	for _, tt := range tests {
		if got := isPlainHTTP(tt.host, insecure); got != tt.want {
			t.Errorf("isPlainHTTP(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestCredentialsFor(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("me:secret"))
	config := []byte(`{"auths":{
		"reg.example:5000":{"auth":"` + auth + `"},
		"https://index.docker.io/v1/":{"username":"hub","password":"pw"},
		"tok.example":{"identitytoken":"tkn"},
		"bad.example":{"auth":"!!"}}}`)
	tests := []struct {
		host, user, secret string
		wantErr            bool
	}{
		{"reg.example:5000", "me", "secret", false},
		{"registry-1.docker.io", "hub", "pw", false},
		{"tok.example", "", "tkn", false},
		{"unknown.example", "", "", false},
		{"bad.example", "", "", true},
	}
	for _, tt := range tests {
		user, secret, err := credentialsFor(config, tt.host, "config.json")
		if (err != nil) != tt.wantErr || user != tt.user || secret != tt.secret {
			t.Errorf("credentialsFor(%q) = %q, %q, %v; want %q, %q, error %v", tt.host, user, secret, err, tt.user, tt.secret, tt.wantErr)
		}
	}
}

func TestResolvConf(t *testing.T) {
	host := "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch lan\noptions edns0\nnameserver ::1\n"
	want := "nameserver 192.0.2.1\nsearch lan\noptions edns0\n"
	tests := []struct {
		name                         string
		nameservers, search, options []string
		want                         string
	}{
		{"host's, less loopback", nil, nil, nil, want},
		{"berth's DNS", []string{"10.89.0.1"}, nil, nil, "nameserver 10.89.0.1\nsearch lan\noptions edns0\n"},
		{"dns_search and dns_opt", []string{"10.89.0.1", "192.0.2.9"}, []string{"corp.test"}, []string{"ndots:2"}, "nameserver 10.89.0.1\nnameserver 192.0.2.9\nsearch corp.test\noptions ndots:2\n"},
	}
	for _, tt := range tests {
		if got := string(resolvConf([]byte(host), tt.nameservers, tt.search, tt.options)); got != tt.want {
			t.Errorf("%s: resolvConf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestHostsFile(t *testing.T) {
	got := string(hostsFile("web", "example.test", []hostLine{{"10.89.0.1", "host.docker.internal"}}))
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "127.0.1.1\tweb.example.test web\n", "10.89.0.1\thost.docker.internal\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hostsFile lacks %q:\n%s", want, got)
		}
	}
}

func TestDaemonConfig(t *testing.T) {
	d := daemon{dataDir: "/var/lib/berth", runDir: "/run/berth"}
	cfg := d.configTOML()
	for _, want := range []string{
		`root = "/var/lib/berth/containerd"`,
		`state = "/run/berth/containerd"`,
		`address = "/run/berth/containerd/containerd.sock"`,
		`"io.containerd.grpc.v1.cri"`,
		`"io.containerd.nri.v1.nri"`,
		`path = "/var/lib/berth/containerd/opt"`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
}

func TestFindDaemon(t *testing.T) {
	dir := t.TempDir()
	if _, err := findDaemon(dir); err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("findDaemon(empty dir) = %v, want an error telling to run make deps", err)
	}
	for _, name := range []string{"containerd", "containerd-shim-runc-v2"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := findDaemon(dir); err != nil || got != dir {
		t.Errorf("findDaemon(%s) = %q, %v", dir, got, err)
	}
}

func TestRuncReason(t *testing.T) {
	err := errors.New(`failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/x": stat /x: no such file or directory: unknown`)
	if got, want := runcReason(err).Error(), `exec: "/x": stat /x: no such file or directory`; got != want {
		t.Errorf("runcReason = %q, want %q", got, want)
	}
	other := errors.New("context canceled")
	if runcReason(other) != other {
		t.Errorf("runcReason changed an error that is not runc's")
	}
}

func TestPullNeeded(t *testing.T) {
	tests := []struct {
		name     string
		svc      compose.Service
		present  bool
		wantPull bool
		wantErr  string
	}{
		{"missing, absent", compose.Service{Image: "a", PullPolicy: compose.PullMissing}, false, true, ""},
		{"missing, present", compose.Service{Image: "a", PullPolicy: compose.PullMissing}, true, false, ""},
		{"always, present", compose.Service{Image: "a", PullPolicy: compose.PullAlways}, true, true, ""},
		{"never, present", compose.Service{Image: "a", PullPolicy: compose.PullNever}, true, false, ""},
		{"never, absent", compose.Service{Image: "a", PullPolicy: compose.PullNever}, false, false, "pull_policy is never"},
		{"build, present", compose.Service{Image: "a", PullPolicy: compose.PullBuild, HasBuild: true}, true, false, ""},
		{"build, absent", compose.Service{Image: "a", PullPolicy: compose.PullBuild, HasBuild: true}, false, false, "is not built yet: run `berth build"},
		{"build only, absent", compose.Service{PullPolicy: compose.PullMissing, HasBuild: true}, false, false, "is not built yet: run `berth build"},
		{"build, no build section, present", compose.Service{Image: "a", PullPolicy: compose.PullBuild}, true, false, ""},
		{"build, no build section, absent", compose.Service{Image: "a", PullPolicy: compose.PullBuild}, false, false, "pull policy build does not pull it"},
		{"build and image, absent: pulled", compose.Service{Image: "a", PullPolicy: compose.PullMissing, HasBuild: true}, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Name, tt.svc.Project = "web", "demo"
			pull, err := pullNeeded(&tt.svc, tt.present)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `service "web"`) {
					t.Fatalf("pullNeeded = %v, %v; want error %q naming the service", pull, err, tt.wantErr)
				}
				return
			}
			if err != nil || pull != tt.wantPull {
				t.Errorf("pullNeeded = %v, %v; want %v", pull, err, tt.wantPull)
			}
		})
	}
}

func TestExplainPull(t *testing.T) {
	tests := []struct{ err, want string }{
		{"pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials", "log in to the registry"},
		{"dial tcp 127.0.0.1:1: connect: connection refused", "cannot be reached"},
		{"127.0.0.1:5000/x:1: not found", "no such image or tag"},
		{"http: server gave HTTP response to HTTPS client", "--insecure-registry"},
		{"something else", "something else"},
	}
	for _, tt := range tests {
		if got := explainPull(errors.New(tt.err)).Error(); !strings.Contains(got, tt.want) {
			t.Errorf("explainPull(%q) = %q, want it to say %q", tt.err, got, tt.want)
		}
	}
}

func TestExplainPush(t *testing.T) {
	tests := []struct{ err, want string }{
		{"dial tcp 127.0.0.1:1: connect: connection refused", "dial tcp 127.0.0.1:1: connect: connection refused: the registry cannot be reached"},
		{"authorization failed: no basic auth credentials", "log in to the registry"},
		{"http: server gave HTTP response to HTTPS client", "--insecure-registry"},
	}
	for _, tt := range tests {
		got := explainPush(errors.New(tt.err)).Error()
		if !strings.Contains(got, tt.want) || strings.Contains(got, "berth load") {
			t.Errorf("explainPush(%q) = %q, want it to say %q and not to load an archive", tt.err, got, tt.want)
		}
	}
}

func TestWithImageExpose(t *testing.T) {
	tests := []struct {
		expose []string
		image  map[string]struct{}
		want   []string
	}{
		{nil, nil, nil},
		{[]string{"80"}, nil, []string{"80"}},
		{nil, map[string]struct{}{"5000/tcp": {}, "53/udp": {}}, []string{"5000/tcp", "53/udp"}},
		{[]string{"5000/tcp", "8080"}, map[string]struct{}{"5000/tcp": {}}, []string{"5000/tcp", "8080"}},
	}
	for _, tt := range tests {
		got := withImageExpose(tt.expose, tt.image)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("withImageExpose(%q, %v) = %q, want %q", tt.expose, tt.image, got, tt.want)
		}
	}
}
