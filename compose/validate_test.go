package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefuses checks values compose-go accepts and Docker refuses: each
// fails at load with one line naming the file, the service and the key.
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name, service string // the service's keys, indented by 4
		want          []string
	}{
		{"volume mode", "volumes: ['/a:/data:zz']", []string{"line 5", `"/a:/data:zz"`, `unknown mode "zz"`}},
		{"volume relative target", "volumes: ['/data:zz']", []string{`target "zz"`, "absolute"}},
		{"named volume relative target", "volumes: ['data:0']", []string{`target "0"`}},
		{"bind relative target", "volumes: ['./x:rel']", []string{`target "rel"`}},
		{"volume on /", "volumes: ['/a:/']", []string{"cannot be mounted on /"}},
		{"too many colons", "volumes: ['/a:/b:ro:x']", []string{"too many colons"}},
		{"tmpfs bad size", "tmpfs: ['/x:size=lots']", []string{`tmpfs "/x:size=lots"`, "size"}},
		{"tmpfs bad mode", "tmpfs: ['/x:mode=999']", []string{"mode"}},
		{"tmpfs unknown option", "tmpfs: ['/x:sizee=1m']", []string{`unknown tmpfs option "sizee=1m"`}},
		{"tmpfs relative", "tmpfs: ['x']", []string{"absolute"}},
		{"negative stop_grace_period", "stop_grace_period: -5s", []string{"stop_grace_period", "negative"}},
		{"bad stop_signal", "stop_signal: SIGNOPE", []string{"stop_signal", "SIGNOPE"}},
		{"unknown cap_add", "cap_add: [NET_ADMINN]", []string{"cap_add", "NET_ADMINN"}},
		{"unknown cap_drop", "cap_drop: [cap_foo]", []string{"cap_drop", "cap_foo"}},
		{"unknown ulimit", "ulimits: {nofiles: 10}", []string{"ulimits", "nofiles"}},
		{"host sysctl", "sysctls: {kernel.hostname: x}", []string{"sysctls", "kernel.hostname"}},
		{"net sysctl on the host network", "network_mode: host\n    sysctls: {net.ipv4.ip_forward: 1}", []string{"net.ipv4.ip_forward", "network_mode host"}},
		{"negative health interval", "healthcheck: {test: [CMD, 'true'], interval: -1s}", []string{"healthcheck.interval"}},
		{"negative retries", "healthcheck: {test: [CMD, 'true'], retries: -1}", []string{"healthcheck.retries", "-1"}},
		{"start_interval without start_period", "healthcheck: {test: [CMD, 'true'], start_interval: 1s}", []string{"healthcheck.start_interval requires healthcheck.start_period to be set"}},
		{"bad dns", "dns: [not-an-ip]", []string{"dns", "not-an-ip"}},
		{"bad oom_score_adj", "oom_score_adj: 5000", []string{"oom_score_adj"}},
		{"bad device permissions", "devices: ['/dev/null:/dev/null:rwx']", []string{"devices", "rwx"}},
		{"negative max_attempts", "deploy: {restart_policy: {max_attempts: -1}}", []string{"max_attempts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "compose.yaml")
			content := "name: x\nservices:\n  a:\n    image: busybox\n    " + tt.service + "\nvolumes:\n  data: {}\n"
			if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(context.Background(), Options{Files: []string{file}})
			if err == nil {
				t.Fatalf("Load(%q) = nil error, want one", tt.service)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error has several lines: %q", msg)
			}
			for _, w := range append([]string{"compose.yaml"}, tt.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("Load(%q) error = %q, want it to mention %q", tt.service, msg, w)
				}
			}
		})
	}
}

// TestCheckHost: cpus above the host's CPU count load (config, ps, down and
// logs work on a file written for a bigger machine), and CheckHost, which
// the commands that make containers call, refuses them in one line naming
// the file and the service.
func TestCheckHost(t *testing.T) {
	tests := []struct {
		name, service string
		cpus          int
		want          string // "": no error
	}{
		{name: "above", service: "cpus: 100000", cpus: 4, want: `service "a": cpus 100000: the range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available`},
		{name: "deploy limit above", service: "deploy: {resources: {limits: {cpus: '8'}}}", cpus: 2, want: "only 2 CPUs available"},
		{name: "all of them", service: "cpus: 4", cpus: 4},
		{name: "none asked", service: "cap_add: [NET_ADMIN]", cpus: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "compose.yaml")
			content := "name: x\nservices:\n  a:\n    image: busybox\n    " + tt.service + "\n"
			if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := Load(context.Background(), Options{Files: []string{file}})
			if err != nil {
				t.Fatalf("Load(%q) = %v, want the file loaded", tt.service, err)
			}
			err = p.checkHost(tt.cpus)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkHost(%d) of %q = %v, want nil", tt.cpus, tt.service, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "compose.yaml") || strings.Contains(err.Error(), "\n")):
				t.Errorf("checkHost(%d) of %q = %v, want one line naming compose.yaml with %q", tt.cpus, tt.service, err, tt.want)
			}
		})
	}
}

// TestLoadAccepts checks the spellings Docker accepts still load.
func TestLoadAccepts(t *testing.T) {
	for _, service := range []string{
		"cap_add: [ALL, net_admin, CAP_SYS_TIME, cap_chown]\n    cap_drop: [all]",
		"volumes: ['/a:/b:ro,z', '/c:/d:rslave', 'data:/e:nocopy']",
		"tmpfs: ['/x:size=1m,mode=0700,uid=1000,noexec', /y]",
		"ulimits: {nofile: {soft: 100, hard: -1}}\n    sysctls: {net.core.somaxconn: 1024, kernel.shmmax: 1}",
		"stop_signal: SIGUSR1\n    stop_grace_period: 0s",
		"cpus: 0.5",
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		content := "name: x\nservices:\n  a:\n    image: busybox\n    " + service + "\nvolumes:\n  data: {}\n"
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(context.Background(), Options{Files: []string{file}}); err != nil {
			t.Errorf("Load(%q) = %v, want no error", service, err)
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	tests := []struct {
		spec string
		want Mount
	}{
		{"/x", Mount{Type: MountTmpfs, Target: "/x"}},
		{"/x:size=1m", Mount{Type: MountTmpfs, Target: "/x", TmpfsSize: 1 << 20}},
		{"/x/:size=2G,mode=700,noexec,ro", Mount{Type: MountTmpfs, Target: "/x", TmpfsSize: 2 << 30, TmpfsOptions: "mode=700,noexec", ReadOnly: true}},
		{"/x:size=10%,uid=1,gid=2,nr_inodes=1k", Mount{Type: MountTmpfs, Target: "/x", TmpfsOptions: "size=10%,uid=1,gid=2,nr_inodes=1k"}},
	}
	for _, tt := range tests {
		got, err := ParseTmpfs(tt.spec)
		if err != nil || got != tt.want {
			t.Errorf("ParseTmpfs(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "x", "/", "/x:size=", "/x:size=-1", "/x:size=1q", "/x:size=0", "/x:mode=8", "/x:mode=77777", "/x:uid=-1", "/x:bogus", "/x:size=99999999999999999999", "/x:size=9e"} {
		if got, err := ParseTmpfs(bad); err == nil {
			t.Errorf("ParseTmpfs(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	dup := filepath.Join(dir, "dup.yaml")
	if err := os.WriteFile(dup, []byte("services:\n  a: {image: x, container_name: same}\n  b: {image: x, container_name: same}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		files []string
		want  string
	}{
		{[]string{filepath.Join(dir, "missing.yaml")}, "missing.yaml (-f): no such file"},
		{[]string{dir}, "(-f) is a directory"},
		{[]string{dup}, `dup.yaml: container name "same" is already in use: services "a" and "b" have the same container_name`},
	} {
		_, err := Load(context.Background(), Options{Files: tt.files})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%v) = %v, want %q", tt.files, err, tt.want)
		}
	}
}
