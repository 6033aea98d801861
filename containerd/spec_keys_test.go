package containerd

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/oci"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// namespaceOf is the spec's namespace of kind: present, and its path.
func namespaceOf(s *oci.Spec, kind specs.LinuxNamespaceType) (bool, string) {
	for _, n := range s.Linux.Namespaces {
		if n.Type == kind {
			return true, n.Path
		}
	}
	return false, ""
}

func shmMount(s *oci.Spec) *specs.Mount {
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" {
			return &m
		}
	}
	return nil
}

func TestRuntimeKeySpec(t *testing.T) {
	img := v1.ImageConfig{Cmd: []string{"sh"}}
	all := cgroupSupport{BlkioWeight: true, BlkioThrottle: true}
	i64 := func(n int64) *int64 { return &n }
	tests := []struct {
		name   string
		svc    func(*compose.Service)
		joined Joined
		check  func(t *testing.T, s *oci.Spec)
	}{
		{"ipc host shares the host's /dev/shm", func(s *compose.Service) { s.Namespaces.IPC = "host" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if ok, _ := namespaceOf(s, specs.IPCNamespace); ok {
				t.Error("ipc: host still has an ipc namespace of its own")
			}
			if m := shmMount(s); m == nil || m.Source != "/dev/shm" || m.Type != "bind" {
				t.Errorf("/dev/shm = %+v, want the host's bound", m)
			}
		}},
		{"ipc service joins its namespace and /dev/shm", func(s *compose.Service) { s.Namespaces.IPC = "service:db" }, Joined{IPC: "/proc/42/ns/ipc", Shm: "/proc/42/root/dev/shm"}, func(t *testing.T, s *oci.Spec) {
			if ok, p := namespaceOf(s, specs.IPCNamespace); !ok || p != "/proc/42/ns/ipc" {
				t.Errorf("ipc namespace = %v %q, want /proc/42/ns/ipc", ok, p)
			}
			if m := shmMount(s); m == nil || m.Source != "/proc/42/root/dev/shm" {
				t.Errorf("/dev/shm = %+v, want db's", m)
			}
		}},
		{"ipc none has no /dev/shm", func(s *compose.Service) { s.Namespaces.IPC = "none" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if m := shmMount(s); m != nil {
				t.Errorf("/dev/shm = %+v, want none", m)
			}
		}},
		{"ipc shareable is a namespace of its own", func(s *compose.Service) { s.Namespaces.IPC = "shareable" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if ok, p := namespaceOf(s, specs.IPCNamespace); !ok || p != "" {
				t.Errorf("ipc namespace = %v %q, want a new one", ok, p)
			}
		}},
		{"pid host", func(s *compose.Service) { s.Namespaces.PID = "host" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if ok, _ := namespaceOf(s, specs.PIDNamespace); ok {
				t.Error("pid: host still has a pid namespace")
			}
		}},
		{"pid container", func(s *compose.Service) { s.Namespaces.PID = "container:x" }, Joined{PID: "/proc/7/ns/pid"}, func(t *testing.T, s *oci.Spec) {
			if _, p := namespaceOf(s, specs.PIDNamespace); p != "/proc/7/ns/pid" {
				t.Errorf("pid namespace path = %q", p)
			}
		}},
		{"uts host drops the hostname", func(s *compose.Service) { s.Namespaces.UTS = "host"; s.Domainname = "example.org" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if ok, _ := namespaceOf(s, specs.UTSNamespace); ok || s.Hostname != "" || s.Domainname != "" {
				t.Errorf("uts namespace %v, hostname %q, domainname %q; want the host's", ok, s.Hostname, s.Domainname)
			}
		}},
		{"cgroup private", func(s *compose.Service) { s.Namespaces.Cgroup = "private" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if ok, _ := namespaceOf(s, specs.CgroupNamespace); !ok {
				t.Error("cgroup: private has no cgroup namespace")
			}
		}},
		{"cgroup host", func(s *compose.Service) { s.Namespaces.Cgroup = "host" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if ok, _ := namespaceOf(s, specs.CgroupNamespace); ok {
				t.Error("cgroup: host has a cgroup namespace")
			}
		}},
		{"cgroup_parent", func(s *compose.Service) { s.CgroupParent = "berth-parent" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if s.Linux.CgroupsPath != "/berth-parent/web-1" {
				t.Errorf("CgroupsPath = %q, want /berth-parent/web-1", s.Linux.CgroupsPath)
			}
		}},
		{"cpuset", func(s *compose.Service) { s.Resources.CPUSet = "0-1" }, Joined{}, func(t *testing.T, s *oci.Spec) {
			if s.Linux.Resources.CPU == nil || s.Linux.Resources.CPU.Cpus != "0-1" {
				t.Errorf("CPU = %+v, want cpus 0-1", s.Linux.Resources.CPU)
			}
		}},
		{"device_cgroup_rules", func(s *compose.Service) { s.Resources.DeviceCgroupRules = []string{"c 1:3 rw", "b *:* m"} }, Joined{}, func(t *testing.T, s *oci.Spec) {
			devs := s.Linux.Resources.Devices
			want := []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}, {Allow: true, Type: "b", Access: "m"}}
			if len(devs) < 2 || !reflect.DeepEqual(devs[len(devs)-2:], want) {
				t.Errorf("Devices = %+v, want %+v last", devs, want)
			}
		}},
		{"blkio", func(s *compose.Service) {
			s.Resources.Blkio = &compose.BlkioConfig{Weight: 300, ReadBps: []compose.BlkioRate{{Path: "/dev/null", Rate: 1024}}, WriteIOps: []compose.BlkioRate{{Path: "/dev/zero", Rate: 10}}}
		}, Joined{}, func(t *testing.T, s *oci.Spec) {
			io := s.Linux.Resources.BlockIO
			if io == nil || io.Weight == nil || *io.Weight != 300 {
				t.Fatalf("BlockIO = %+v, want weight 300", io)
			}
			if len(io.ThrottleReadBpsDevice) != 1 || io.ThrottleReadBpsDevice[0].Major != 1 || io.ThrottleReadBpsDevice[0].Minor != 3 || io.ThrottleReadBpsDevice[0].Rate != 1024 {
				t.Errorf("read bps = %+v, want 1:3 at 1024", io.ThrottleReadBpsDevice)
			}
			if len(io.ThrottleWriteIOPSDevice) != 1 || io.ThrottleWriteIOPSDevice[0].Minor != 5 {
				t.Errorf("write iops = %+v, want 1:5", io.ThrottleWriteIOPSDevice)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &compose.Service{Name: "web"}
			tt.svc(svc)
			tt.check(t, genSpec(t, specInput{Name: "web-1", Image: img, Service: svc, NetNS: "/run/netns/x", Joined: tt.joined, Cgroups: all}))
		})
	}
}

func TestRuntimeKeySpecRefused(t *testing.T) {
	img := v1.ImageConfig{Cmd: []string{"sh"}}
	tests := []struct {
		name string
		svc  func(*compose.Service)
		cg   cgroupSupport
		want string
	}{
		{"weight without a weighting scheduler", func(s *compose.Service) { s.Resources.Blkio = &compose.BlkioConfig{Weight: 300} }, cgroupSupport{BlkioThrottle: true}, "blkio_config weights"},
		{"throttle without the controller", func(s *compose.Service) {
			s.Resources.Blkio = &compose.BlkioConfig{ReadBps: []compose.BlkioRate{{Path: "/dev/null", Rate: 1}}}
		}, cgroupSupport{}, "blkio_config.device_read_bps"},
		{"throttle of a file that is no device", func(s *compose.Service) {
			s.Resources.Blkio = &compose.BlkioConfig{ReadBps: []compose.BlkioRate{{Path: "/etc/hostname", Rate: 1}}}
		}, cgroupSupport{BlkioThrottle: true}, "not a device"},
		{"ipc of a container not running", func(s *compose.Service) { s.Namespaces.IPC = "service:db" }, cgroupSupport{}, "is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &compose.Service{Name: "web"}
			tt.svc(svc)
			_, err := specOpts(specInput{Name: "web-1", Image: img, Service: svc, Cgroups: tt.cg})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"web"`) {
				t.Errorf("specOpts = %v, want an error naming the service with %q", err, tt.want)
			}
		})
	}
}

func TestLogDriverArg(t *testing.T) {
	tests := []struct {
		l     compose.Logging
		stdin string
	}{
		{compose.Logging{Driver: compose.LogJSONFile, MaxFile: 1}, ""},
		{compose.Logging{Driver: compose.LogJSONFile, MaxSize: 1024, MaxFile: 3}, ""},
		{compose.Logging{Driver: compose.LogNone, MaxFile: 1}, ""},
		{compose.Logging{Driver: compose.LogJSONFile, MaxFile: 1}, "/var/lib/berth/logs/x/c-1.stdin"},
	}
	for _, tt := range tests {
		arg := logDriverArg("/var/lib/berth/logs/x/c-1.log", tt.l, tt.stdin)
		path, got, stdin := parseLogDriverArg(arg)
		if path != "/var/lib/berth/logs/x/c-1.log" || got != tt.l || stdin != tt.stdin {
			t.Errorf("parseLogDriverArg(%q) = %q, %+v, %q; want %+v, %q", arg, path, got, stdin, tt.l, tt.stdin)
		}
	}
	if arg := logDriverArg("/a/b.log", compose.Logging{Driver: compose.LogJSONFile, MaxFile: 1}, ""); arg != "/a/b.log" {
		t.Errorf("default logging arg = %q, want the bare path", arg)
	}
}

func TestViewMount(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, typ string
		options   []string
		sub       string
		want      specs.Mount
		wantErr   bool
	}{
		{"one layer", "bind", []string{"ro", "rbind"}, "", specs.Mount{Destination: "/img", Type: "bind", Source: dir, Options: []string{"rbind", "rprivate", "ro"}}, false},
		{"layers", "overlay", []string{"index=off", "lowerdir=" + dir + ":/tmp"}, "", specs.Mount{Destination: "/img", Type: "overlay", Source: "overlay", Options: []string{"index=off", "lowerdir=" + dir + ":/tmp", "ro"}}, false},
		{"subpath in one layer", "overlay", []string{"lowerdir=/nonexistent-berth:/"}, "tmp", specs.Mount{Destination: "/img", Type: "bind", Source: "/tmp", Options: []string{"rbind", "rprivate", "ro"}}, false},
		{"subpath nowhere", "overlay", []string{"lowerdir=" + dir + ":/tmp"}, "nope", specs.Mount{}, true},
		{"unknown mount type", "nfs", nil, "", specs.Mount{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := viewMount(tt.typ, dir, tt.options, "/img", tt.sub)
			if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("viewMount = %+v, %v; want %+v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestLogRotation checks max-size and max-file: the log is moved to .1,
// .1 to .2, and the oldest dropped.
func TestLogRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	w := &lineWriter{path: path, maxSize: 200, maxFile: 3, now: func() time.Time { return at(7) }}
	if err := w.open(); err != nil {
		t.Fatal(err)
	}
	defer w.close()
	for i := 0; i < 20; i++ {
		w.write(logLine{Log: strings.Repeat("x", 40) + "\n", Stream: "stdout"})
	}
	for _, name := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(name)
		if err != nil || st.Size() == 0 || st.Size() > 200 {
			t.Errorf("%s: %v, %v; want a file of at most 200 bytes", filepath.Base(name), st, err)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("c.log.3 exists (%v): max-file 3 keeps three files", err)
	}
}

// TestLogsReadRotated checks that logs reads the rotated files, oldest
// first, before the current one.
func TestLogsReadRotated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	for name, line := range map[string]string{path + ".2": "one", path + ".1": "two", path: "three"} {
		if err := os.WriteFile(name, []byte(`{"log":"`+line+`\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	r := &logReader{path: path, opts: LogOptions{Tail: -1}}
	if err := r.read(context.Background(), func(e LogEntry) { got = append(got, strings.TrimSpace(e.Line)) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "one two three" {
		t.Errorf("lines = %q, want one two three", got)
	}
}

func TestHostCgroups(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  cgroupSupport
	}{
		{"v1 without weights", map[string]string{"blkio/blkio.throttle.read_bps_device": ""}, cgroupSupport{BlkioThrottle: true}},
		{"v1 with cfq", map[string]string{"blkio/blkio.weight": "", "blkio/blkio.throttle.read_bps_device": ""}, cgroupSupport{BlkioWeight: true, BlkioThrottle: true}},
		{"v2 with io and bfq", map[string]string{"cgroup.controllers": "cpu io memory", "system.slice/io.bfq.weight": ""}, cgroupSupport{Unified: true, BlkioWeight: true, BlkioThrottle: true}},
		{"v2 without io", map[string]string{"cgroup.controllers": "cpu memory", "system.slice/io.weight": ""}, cgroupSupport{Unified: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := hostCgroups(root); got != tt.want {
				t.Errorf("hostCgroups = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHookLabels(t *testing.T) {
	s := &compose.Service{Name: "web", PostStart: []compose.Hook{{Command: []string{"touch", "/x"}, User: "root", Privileged: true}}}
	labels, err := hookLabels(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := labels[labelPreStop]; ok {
		t.Errorf("labels = %v: no pre_stop label without pre_stop hooks", labels)
	}
	got, err := hooksOf(scheduler.Container{Name: "web-1", Labels: labels}, labelPostStart)
	if err != nil || !reflect.DeepEqual(got, s.PostStart) {
		t.Errorf("hooksOf = %+v, %v; want %+v", got, err, s.PostStart)
	}
	if _, err := hooksOf(scheduler.Container{Name: "web-1", Labels: map[string]string{labelPreStop: "{"}}, labelPreStop); err == nil {
		t.Error("hooksOf of a broken label = nil error")
	}
}
