package compose

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestContainerProjectFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.env"), []byte("A=from-file\nB=file\n# comment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shell := map[string]string{"FROMSHELL": "shell"}
	lookup := func(k string) (string, bool) { v, ok := shell[k]; return v, ok }
	empty := ""
	sh := "/bin/sh"
	tests := []struct {
		name  string
		opts  ContainerOptions
		check func(t *testing.T, p *Project, s *Service)
	}{
		{"defaults", ContainerOptions{}, func(t *testing.T, p *Project, s *Service) {
			if p.Name != ContainersProject || s.Name != "web" || s.ContainerName != "web" || s.Image != "busybox" {
				t.Errorf("project %q service %q container %q image %q", p.Name, s.Name, s.ContainerName, s.Image)
			}
			if len(s.Networks) != 1 || s.Networks[0].Name != ContainersNetwork || p.Networks[ContainersNetwork].External {
				t.Errorf("networks = %+v, %+v; want the bridge network", s.Networks, p.Networks)
			}
			if s.Restart.Condition != RestartNo || s.Healthcheck != nil || s.Command != nil || s.Entrypoint != nil {
				t.Errorf("restart %+v health %+v command %q entrypoint %q", s.Restart, s.Healthcheck, s.Command, s.Entrypoint)
			}
			if s.Labels[LabelStandalone] != "true" || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(s.Labels[LabelContainerID]) {
				t.Errorf("labels = %v", s.Labels)
			}
			if s.Hostname != s.Labels[LabelContainerID][:12] {
				t.Errorf("hostname = %q, want the short ID %.12s as docker gives", s.Hostname, s.Labels[LabelContainerID])
			}
		}},
		{"command and entrypoint", ContainerOptions{Command: []string{"-c", "echo hi"}, Entrypoint: &sh}, func(t *testing.T, _ *Project, s *Service) {
			if strings.Join(s.Command, "|") != "-c|echo hi" || strings.Join(s.Entrypoint, "|") != "/bin/sh" {
				t.Errorf("command %q entrypoint %q", s.Command, s.Entrypoint)
			}
		}},
		{"empty entrypoint clears", ContainerOptions{Entrypoint: &empty}, func(t *testing.T, _ *Project, s *Service) {
			if s.Entrypoint == nil || len(s.Entrypoint) != 0 {
				t.Errorf("entrypoint %#v, want empty non-nil", s.Entrypoint)
			}
		}},
		{"ports", ContainerOptions{Publish: []string{"8080:80", "127.0.0.1:5353:53/udp", "9000", "127.0.0.1::81", "7000-7001:7000-7001"}}, func(t *testing.T, _ *Project, s *Service) {
			var got []string
			for _, p := range s.Ports {
				got = append(got, p.String())
			}
			want := "8080:80/tcp 127.0.0.1:5353:53/udp 9000/tcp 127.0.0.1::81/tcp 7000:7000/tcp 7001:7001/tcp"
			if strings.Join(got, " ") != want {
				t.Errorf("ports = %s, want %s", strings.Join(got, " "), want)
			}
		}},
		{"volumes", ContainerOptions{Volumes: []string{"/srv:/data:ro", "./rel:/rel", "cache:/cache", "/anon/"}}, func(t *testing.T, _ *Project, s *Service) {
			if len(s.Mounts) != 4 {
				t.Fatalf("mounts = %+v", s.Mounts)
			}
			if m := s.Mounts[0]; m.Type != MountBind || m.Source != "/srv" || m.Target != "/data" || !m.ReadOnly {
				t.Errorf("bind = %+v", m)
			}
			if m := s.Mounts[1]; m.Type != MountBind || m.Source != filepath.Join(dir, "rel") {
				t.Errorf("relative bind = %+v, want under %s", m, dir)
			}
			if m := s.Mounts[2]; m.Type != MountVolume || m.Source != "cache" || m.Target != "/cache" {
				t.Errorf("named volume = %+v, want the volume cache itself", m)
			}
			if m := s.Mounts[3]; m.Type != MountVolume || !m.Anonymous || m.Target != "/anon" || m.Source != "" {
				t.Errorf("anonymous volume = %+v", m)
			}
		}},
		{"env file then -e", ContainerOptions{EnvFiles: []string{"app.env"}, Env: []string{"B=flag", "FROMSHELL", "MISSING"}}, func(t *testing.T, _ *Project, s *Service) {
			got := map[string]string{}
			for k, v := range s.Environment {
				got[k] = *v
			}
			if got["A"] != "from-file" || got["B"] != "flag" || got["FROMSHELL"] != "shell" || len(got) != 3 {
				t.Errorf("environment = %v", got)
			}
		}},
		{"restart on-failure:3", ContainerOptions{Restart: "on-failure:3"}, func(t *testing.T, _ *Project, s *Service) {
			if s.Restart.Condition != RestartOnFailure || s.Restart.MaxAttempts != 3 {
				t.Errorf("restart = %+v", s.Restart)
			}
		}},
		{"restart always", ContainerOptions{Restart: "always"}, func(t *testing.T, _ *Project, s *Service) {
			if s.Restart.Condition != RestartAlways {
				t.Errorf("restart = %+v", s.Restart)
			}
		}},
		{"restart unless-stopped", ContainerOptions{Restart: "unless-stopped"}, func(t *testing.T, _ *Project, s *Service) {
			if s.Restart.Condition != RestartUnlessStopped {
				t.Errorf("restart = %+v", s.Restart)
			}
		}},
		{"memory and cpus", ContainerOptions{Memory: "512m", CPUs: 1.5}, func(t *testing.T, _ *Project, s *Service) {
			if s.Resources.MemLimit != 512<<20 || s.Resources.CPUs != 1.5 {
				t.Errorf("memory %d cpus %v", s.Resources.MemLimit, s.Resources.CPUs)
			}
		}},
		{"memory in g", ContainerOptions{Memory: "1g"}, func(t *testing.T, _ *Project, s *Service) {
			if s.Resources.MemLimit != 1<<30 {
				t.Errorf("memory %d", s.Resources.MemLimit)
			}
		}},
		{"healthcheck", ContainerOptions{HealthCmd: "wget -q localhost", HealthInterval: 2 * time.Second, HealthRetries: 4}, func(t *testing.T, _ *Project, s *Service) {
			h := s.Healthcheck
			if h == nil || strings.Join(h.Test, "|") != "CMD-SHELL|wget -q localhost" || h.Interval == nil || *h.Interval != 2*time.Second || h.Retries == nil || *h.Retries != 4 || h.Timeout != nil {
				t.Errorf("healthcheck = %+v", h)
			}
		}},
		{"no healthcheck", ContainerOptions{NoHealthcheck: true}, func(t *testing.T, _ *Project, s *Service) {
			if s.Healthcheck == nil || !s.Healthcheck.Disable {
				t.Errorf("healthcheck = %+v", s.Healthcheck)
			}
		}},
		{"host network", ContainerOptions{Network: "host"}, func(t *testing.T, _ *Project, s *Service) {
			if s.NetworkMode != "host" || len(s.Networks) != 0 {
				t.Errorf("mode %q networks %+v", s.NetworkMode, s.Networks)
			}
		}},
		{"none network", ContainerOptions{Network: "none"}, func(t *testing.T, _ *Project, s *Service) {
			if s.NetworkMode != "none" || len(s.Networks) != 0 {
				t.Errorf("mode %q networks %+v", s.NetworkMode, s.Networks)
			}
		}},
		{"container network", ContainerOptions{Network: "container:db"}, func(t *testing.T, _ *Project, s *Service) {
			if s.NetworkMode != "service:db" || len(s.Networks) != 0 {
				t.Errorf("mode %q", s.NetworkMode)
			}
		}},
		{"other network", ContainerOptions{Network: "shop_default"}, func(t *testing.T, p *Project, s *Service) {
			if len(s.Networks) != 1 || s.Networks[0].Name != "shop_default" || !p.Networks["shop_default"].External {
				t.Errorf("networks = %+v %+v, want shop_default, external", s.Networks, p.Networks)
			}
		}},
		{"rm, labels, tty", ContainerOptions{AutoRemove: true, Labels: []string{"a=b", "flag"}, TTY: true, Interactive: true, WorkDir: "/w", User: "1000"}, func(t *testing.T, _ *Project, s *Service) {
			if s.Labels[LabelAutoRemove] != "true" || s.Labels["a"] != "b" || s.Labels["flag"] != "" || !s.Tty || !s.StdinOpen || s.WorkingDir != "/w" || s.User != "1000" {
				t.Errorf("service = %+v", s)
			}
		}},
		{"security and hosts", ContainerOptions{CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}, Privileged: true, ReadOnly: true, Init: true,
			AddHosts: []string{"db:10.0.0.5", "gw=host-gateway"}, DNS: []string{"1.1.1.1"}, Tmpfs: []string{"/run:size=1m"}, PidsLimit: 64},
			func(t *testing.T, _ *Project, s *Service) {
				if strings.Join(s.CapAdd, ",") != "NET_ADMIN" || strings.Join(s.CapDrop, ",") != "ALL" || !s.Privileged || !s.ReadOnly || s.Init == nil || !*s.Init {
					t.Errorf("security = %+v", s)
				}
				var hosts []string
				for _, h := range s.ExtraHosts {
					hosts = append(hosts, h.Name+"="+h.Addr)
				}
				if strings.Join(hosts, " ") != "db=10.0.0.5 gw=host-gateway" || strings.Join(s.DNS, ",") != "1.1.1.1" || s.Resources.PidsLimit != 64 {
					t.Errorf("hosts %v dns %v pids %d", hosts, s.DNS, s.Resources.PidsLimit)
				}
				if len(s.Mounts) != 1 || s.Mounts[0].Type != MountTmpfs || s.Mounts[0].Target != "/run" || s.Mounts[0].TmpfsSize != 1<<20 {
					t.Errorf("tmpfs = %+v", s.Mounts)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.Name, o.Image, o.Lookup, o.WorkingDir = "web", "busybox", lookup, dir
			p, err := ContainerProject(o)
			if err != nil {
				t.Fatalf("ContainerProject(%+v): %v", tt.opts, err)
			}
			tt.check(t, p, p.Services[0])
		})
	}
}

func TestContainerProjectErrors(t *testing.T) {
	tests := []struct {
		name string
		opts ContainerOptions
		want string
	}{
		{"bad name", ContainerOptions{Name: "-x"}, "invalid container name (-x)"},
		{"bad port", ContainerOptions{Publish: []string{"80:abc"}}, `invalid argument "80:abc" for -p`},
		{"bad port range", ContainerOptions{Publish: []string{"99999:80"}}, `-p`},
		{"bad restart", ContainerOptions{Restart: "sometimes"}, `invalid restart policy "sometimes"`},
		{"bad restart max", ContainerOptions{Restart: "on-failure:x"}, `invalid restart policy "on-failure:x"`},
		{"max on always", ContainerOptions{Restart: "always:3"}, `invalid restart policy "always:3"`},
		{"restart with rm", ContainerOptions{Restart: "always", AutoRemove: true}, "cannot specify both --restart and --rm"},
		{"bad memory", ContainerOptions{Memory: "lots"}, `invalid argument "lots" for --memory`},
		{"tiny memory", ContainerOptions{Memory: "1k"}, "minimum memory limit"},
		{"negative cpus", ContainerOptions{CPUs: -1}, "--cpus"},
		{"relative volume target", ContainerOptions{Volumes: []string{"/srv:data"}}, "-v"},
		{"missing env file", ContainerOptions{EnvFiles: []string{"/nonexistent/x.env"}}, "--env-file"},
		{"bad -e", ContainerOptions{Env: []string{"=x"}}, `-e "=x"`},
		{"bad label", ContainerOptions{Labels: []string{"=x"}}, "--label"},
		{"health conflict", ContainerOptions{NoHealthcheck: true, HealthCmd: "true"}, "--no-healthcheck"},
		{"bad add-host", ContainerOptions{AddHosts: []string{"nohost"}}, "--add-host"},
		{"bad capability", ContainerOptions{CapAdd: []string{"NOT_A_CAP"}}, "NOT_A_CAP"},
		{"ports on host network", ContainerOptions{Network: "none", Publish: []string{"80:80"}}, "ports cannot be published"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if o.Name == "" {
				o.Name = "web"
			}
			o.Image = "busybox"
			_, err := ContainerProject(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ContainerProject(%+v) = %v, want an error with %q", tt.opts, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

func TestRandomContainerName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z]+_[a-z]+[0-9]?$`)
	first := RandomContainerName(nil)
	if !valid.MatchString(first) {
		t.Errorf("RandomContainerName = %q, want adjective_name", first)
	}
	taken := 0
	name := RandomContainerName(func(n string) bool { taken++; return taken < 3 })
	if !valid.MatchString(name) || taken != 3 {
		t.Errorf("RandomContainerName with collisions = %q after %d tries", name, taken)
	}
}
