package containerd

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
)

func TestProcessArgs(t *testing.T) {
	img := v1.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"serve"}}
	tests := []struct {
		name       string
		img        v1.ImageConfig
		entrypoint []string
		command    []string
		want       string
		wantErr    bool
	}{
		{"image defaults", img, nil, nil, "/entry serve", false},
		{"command replaces cmd", img, nil, []string{"run", "x"}, "/entry run x", false},
		{"entrypoint drops image cmd", img, []string{"/other"}, nil, "/other", false},
		{"entrypoint and command", img, []string{"/other"}, []string{"a"}, "/other a", false},
		{"empty entrypoint clears it", img, []string{}, []string{"sh"}, "sh", false},
		{"empty entrypoint keeps image cmd", img, []string{}, nil, "serve", false},
		{"empty command means the image's", img, nil, []string{}, "/entry serve", false},
		{"empty command after an entrypoint", img, []string{"/other"}, []string{}, "/other", false},
		{"nothing to run", v1.ImageConfig{}, nil, nil, "", true},
		{"empty command, nothing in the image", v1.ImageConfig{}, nil, []string{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := processArgs(tt.img, &compose.Service{Name: "web", Entrypoint: tt.entrypoint, Command: tt.command})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("processArgs = %q, want an error", got)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Errorf("processArgs = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func genSpec(t *testing.T, in specInput) *oci.Spec {
	t.Helper()
	opts, err := specOpts(in)
	if err != nil {
		t.Fatalf("specOpts: %v", err)
	}
	ctx := namespaces.WithNamespace(context.Background(), "test")
	s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: in.Name}, opts...)
	if err != nil {
		t.Fatalf("GenerateSpec: %v", err)
	}
	return s
}

func str(s string) *string { return &s }

func TestSpecOpts(t *testing.T) {
	img := v1.ImageConfig{Env: []string{"PATH=/bin", "KEEP=1", "DROP=x"}, Cmd: []string{"sh"}, WorkingDir: "/app"}
	base := func() *compose.Service {
		return &compose.Service{Name: "web", Environment: map[string]*string{"A": str("1"), "DROP": nil}}
	}
	tests := []struct {
		name  string
		svc   func(*compose.Service)
		netns string
		check func(t *testing.T, s *oci.Spec)
	}{
		{"defaults", nil, "/run/netns/berth-demo-web-1", func(t *testing.T, s *oci.Spec) {
			if got := strings.Join(s.Process.Env, " "); got != "PATH=/bin KEEP=1 A=1" {
				t.Errorf("Env = %q (DROP must be removed, A added)", got)
			}
			if s.Process.Cwd != "/app" || s.Hostname != "demo-web-1" {
				t.Errorf("Cwd, Hostname = %q, %q", s.Process.Cwd, s.Hostname)
			}
			if s.Process.NoNewPrivileges {
				t.Errorf("NoNewPrivileges is on by default; Docker's default is off")
			}
			if !slices.Contains(s.Process.Capabilities.Bounding, "CAP_NET_BIND_SERVICE") || slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
				t.Errorf("default capabilities wrong: %v", s.Process.Capabilities.Bounding)
			}
			if s.Linux.Seccomp == nil {
				t.Errorf("no seccomp profile")
			}
			if len(s.Linux.MaskedPaths) == 0 {
				t.Errorf("no masked paths")
			}
			if !hasNamespace(s, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/run/netns/berth-demo-web-1"}) {
				t.Errorf("network namespace not joined: %v", s.Linux.Namespaces)
			}
			for _, dst := range []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} {
				if !hasMount(s, dst, "/etc-dir"+strings.TrimPrefix(dst, "/etc")) {
					t.Errorf("no bind mount of %s", dst)
				}
			}
			for _, m := range s.Mounts {
				if m.Destination == "/run" {
					t.Errorf("a mount on /run (%+v): Docker mounts none, so the image's /run is hidden", m)
				}
			}
		}},
		{"service settings", func(s *compose.Service) {
			s.WorkingDir, s.Hostname, s.Domainname = "/srv", "api", "example.test"
			s.CapAdd, s.CapDrop = []string{"NET_ADMIN"}, []string{"cap_net_raw"}
			s.SecurityOpt = []string{"no-new-privileges:true"}
			s.ReadOnly, s.Tty = true, true
		}, "", func(t *testing.T, s *oci.Spec) {
			if s.Process.Cwd != "/srv" || s.Hostname != "api" || s.Domainname != "example.test" {
				t.Errorf("Cwd, Hostname, Domainname = %q, %q, %q", s.Process.Cwd, s.Hostname, s.Domainname)
			}
			if !slices.Contains(s.Process.Capabilities.Bounding, "CAP_NET_ADMIN") || slices.Contains(s.Process.Capabilities.Bounding, "CAP_NET_RAW") {
				t.Errorf("cap_add/cap_drop not applied: %v", s.Process.Capabilities.Bounding)
			}
			if !s.Process.NoNewPrivileges || !s.Root.Readonly || !s.Process.Terminal {
				t.Errorf("NoNewPrivileges, Readonly, Terminal = %v, %v, %v", s.Process.NoNewPrivileges, s.Root.Readonly, s.Process.Terminal)
			}
			for _, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					t.Errorf("host network mode still has a network namespace: %v", ns)
				}
			}
		}},
		{"privileged", func(s *compose.Service) { s.Privileged = true }, "/x", func(t *testing.T, s *oci.Spec) {
			if !slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") || s.Linux.Seccomp != nil || len(s.Linux.MaskedPaths) != 0 {
				t.Errorf("privileged: caps %v, seccomp %v, masked %v", s.Process.Capabilities.Bounding, s.Linux.Seccomp != nil, s.Linux.MaskedPaths)
			}
		}},
		{"cap_drop ALL", func(s *compose.Service) { s.CapDrop = []string{"ALL"}; s.CapAdd = []string{"CHOWN"} }, "/x", func(t *testing.T, s *oci.Spec) {
			if got := s.Process.Capabilities.Bounding; len(got) != 1 || got[0] != "CAP_CHOWN" {
				t.Errorf("cap_drop ALL + cap_add CHOWN = %v", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := base()
			if tt.svc != nil {
				tt.svc(svc)
			}
			tt.check(t, genSpec(t, specInput{Name: "demo-web-1", Image: img, Service: svc, NetNS: tt.netns, EtcDir: "/etc-dir"}))
		})
	}
}

// TestSpecOptsTmpfsRun: a tmpfs the service asks for on /run is kept,
// although the default one is removed.
func TestSpecOptsTmpfsRun(t *testing.T) {
	svc := &compose.Service{Name: "web"}
	tmpfs := specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}}
	s := genSpec(t, specInput{Name: "demo-web-1", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: svc, EtcDir: "/etc-dir", Mounts: []specs.Mount{tmpfs}})
	var runs []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination == "/run" {
			runs = append(runs, m)
		}
	}
	if len(runs) != 1 || !slices.Equal(runs[0].Options, tmpfs.Options) {
		t.Errorf("mounts on /run = %+v, want only the service's tmpfs %+v", runs, tmpfs)
	}
}

func TestSpecOptsRefusals(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		svc  compose.Service
		want string
	}{
		{"init without berth's executable", compose.Service{Name: "a", Init: &yes}, "init: true and stdin_open need berth's own executable"},
		{"security_opt", compose.Service{Name: "a", SecurityOpt: []string{"seccomp=/x.json"}}, `security_opt "seccomp=/x.json" is not supported yet`},
	}
	for _, tt := range tests {
		_, err := specOpts(specInput{Name: "x", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: &tt.svc})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: specOpts error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func hasNamespace(s *oci.Spec, want specs.LinuxNamespace) bool {
	return slices.Contains(s.Linux.Namespaces, want)
}

func hasMount(s *oci.Spec, dst, src string) bool {
	for _, m := range s.Mounts {
		if m.Destination == dst && m.Source == src && m.Type == "bind" {
			return true
		}
	}
	return false
}

func TestResourceOpts(t *testing.T) {
	svc := compose.Service{Name: "db", Resources: compose.Resources{
		MemLimit: 256 << 20, MemSwapLimit: 512 << 20, MemReservation: 128 << 20,
		CPUs: 1.5, CPUShares: 512, PidsLimit: 100, ShmSize: 128 << 20, OomScoreAdj: 500,
		Ulimits: []compose.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
		Sysctls: map[string]string{"net.core.somaxconn": "1024"},
	}}
	s := genSpec(t, specInput{Name: "db-1", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: &svc})
	r := s.Linux.Resources
	if *r.Memory.Limit != 256<<20 || *r.Memory.Swap != 512<<20 || *r.Memory.Reservation != 128<<20 {
		t.Errorf("memory = %d/%d/%d", *r.Memory.Limit, *r.Memory.Swap, *r.Memory.Reservation)
	}
	if *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 {
		t.Errorf("cpu = quota %d period %d shares %d", *r.CPU.Quota, *r.CPU.Period, *r.CPU.Shares)
	}
	if r.Pids.Limit == nil || *r.Pids.Limit != 100 {
		t.Errorf("pids = %+v", r.Pids)
	}
	if *s.Process.OOMScoreAdj != 500 || s.Linux.Sysctl["net.core.somaxconn"] != "1024" {
		t.Errorf("oom %d, sysctls %v", *s.Process.OOMScoreAdj, s.Linux.Sysctl)
	}
	nofile := 0
	for _, l := range s.Process.Rlimits {
		if l.Type == "RLIMIT_NOFILE" {
			nofile++
			if l.Soft != 1024 || l.Hard != 2048 {
				t.Errorf("nofile = %+v", l)
			}
		}
	}
	if nofile != 1 {
		t.Errorf("%d RLIMIT_NOFILE entries, want 1", nofile)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" && !slices.Contains(m.Options, "size=134217728") {
			t.Errorf("/dev/shm options %v", m.Options)
		}
	}
	bad := compose.Service{Name: "db", Resources: compose.Resources{Ulimits: []compose.Ulimit{{Name: "nofiles", Soft: 1, Hard: 1}}}}
	if _, err := specOpts(specInput{Name: "x", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: &bad}); err == nil || !strings.Contains(err.Error(), "ulimits.nofiles: unknown limit") {
		t.Errorf("unknown ulimit: %v", err)
	}
}

func TestInitSpec(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		init           *bool
		stdinOpen, tty bool
		want           string
	}{
		{nil, false, false, "sleep 1"},
		{&no, false, true, "sleep 1"},
		{&yes, false, false, InitPath + " -- sleep 1"},
		{nil, true, false, InitPath + " --keep-stdin --exec -- sleep 1"},
		{&yes, true, false, InitPath + " --keep-stdin -- sleep 1"},
		{nil, true, true, "sleep 1"}, // the terminal's input stays open
		{&yes, true, true, InitPath + " -- sleep 1"},
	}
	for _, tt := range tests {
		svc := compose.Service{Name: "a", Init: tt.init, StdinOpen: tt.stdinOpen, Tty: tt.tty, Command: []string{"sleep", "1"}}
		s := genSpec(t, specInput{Name: "a-1", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: &svc, InitBinary: "/usr/bin/berth"})
		if got := strings.Join(s.Process.Args, " "); got != tt.want {
			t.Errorf("init %v stdin_open %v tty %v: args %q, want %q", tt.init, tt.stdinOpen, tt.tty, got, tt.want)
		}
	}
	svc := compose.Service{Name: "a", Init: &yes, Command: []string{"sleep", "1"}}
	s := genSpec(t, specInput{Name: "a-1", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: &svc, InitBinary: "/usr/bin/berth"})
	found := false
	for _, m := range s.Mounts {
		if m.Destination == InitPath && m.Source == "/usr/bin/berth" && slices.Contains(m.Options, "ro") {
			found = true
		}
	}
	if !found {
		t.Errorf("berth is not bound read-only at %s: %+v", InitPath, s.Mounts)
	}
}

// TestConfinement: the confinement services and build steps share is
// Docker's seccomp profile unless turned off, and no_new_privs only when
// asked for.
func TestConfinement(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "test")
	for _, tc := range []struct {
		seccomp, nnp bool
	}{{true, false}, {false, false}, {true, true}} {
		s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "x"}, confinement(tc.seccomp, tc.nnp)...)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Linux.Seccomp != nil; got != tc.seccomp {
			t.Errorf("confinement(%v, %v): seccomp %v, want %v", tc.seccomp, tc.nnp, got, tc.seccomp)
		}
		if s.Process.NoNewPrivileges != tc.nnp {
			t.Errorf("confinement(%v, %v): no_new_privs %v", tc.seccomp, tc.nnp, s.Process.NoNewPrivileges)
		}
	}
}

func TestWithoutInit(t *testing.T) {
	tests := []struct{ args, want string }{
		{"sleep 10", "sleep 10"},
		{InitPath + " -- sleep 10", "sleep 10"},
		{InitPath + " --keep-stdin --exec -- sh -c x", "sh -c x"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(withoutInit(strings.Fields(tt.args)), " "); got != tt.want {
			t.Errorf("withoutInit(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
