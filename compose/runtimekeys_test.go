package compose

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// loadService loads a project whose service a has the given keys (indented
// by 4) next to a service b, and returns a.
func loadService(t *testing.T, keys string) (*Service, error) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	content := "name: x\nservices:\n  b:\n    image: busybox\n  a:\n    image: busybox\n    " + keys + "\nnetworks:\n  other: {}\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), Options{Files: []string{file}})
	if err != nil {
		return nil, err
	}
	return p.Service("a"), nil
}

func TestRuntimeKeys(t *testing.T) {
	tests := []struct {
		name, keys string
		check      func(s *Service) any
		want       any
	}{
		{"post_start", "post_start: [{command: [touch, /x], user: root, privileged: true, working_dir: /tmp, environment: {A: b}}]",
			func(s *Service) any { return s.PostStart },
			[]Hook{{Command: []string{"touch", "/x"}, User: "root", Privileged: true, WorkingDir: "/tmp", Environment: []string{"A=b"}}}},
		{"pre_stop shell form", "pre_stop: [{command: echo bye}]",
			func(s *Service) any { return s.PreStop[0].Command }, []string{"echo", "bye"}},
		{"ipc service", "ipc: service:b", func(s *Service) any { return s.Namespaces.IPC.Service() }, "b"},
		{"ipc container", "ipc: container:other", func(s *Service) any { return s.Namespaces.IPC.Container() }, "other"},
		{"ipc shareable", "ipc: shareable", func(s *Service) any { return s.Namespaces.IPC }, NamespaceMode("shareable")},
		{"pid host", "pid: host", func(s *Service) any { return s.Namespaces.PID.Host() }, true},
		{"uts host", "uts: host", func(s *Service) any { return s.Namespaces.UTS.Host() }, true},
		{"cgroup private", "cgroup: private", func(s *Service) any { return s.Namespaces.Cgroup }, NamespaceMode("private")},
		{"logging default", "command: 'true'", func(s *Service) any { return s.Logging }, Logging{Driver: LogJSONFile, MaxFile: 1}},
		{"logging json-file", "logging: {driver: json-file, options: {max-size: 1k, max-file: '3', compress: 'true'}}",
			func(s *Service) any { return s.Logging }, Logging{Driver: LogJSONFile, MaxSize: 1024, MaxFile: 3}},
		{"logging local", "logging: {driver: local}", func(s *Service) any { return s.Logging }, Logging{Driver: LogLocal, MaxSize: 20 << 20, MaxFile: 5}},
		{"logging none", "logging: {driver: none}", func(s *Service) any { return s.Logging.Driver }, LogNone},
		{"links", "links: [b, 'b:database']", func(s *Service) any { return s.Links }, []Link{{"b", "b"}, {"b", "database"}}},
		{"mac_address", "mac_address: 02:42:ac:11:00:99", func(s *Service) any { return s.Networks[0].MACAddress }, "02:42:ac:11:00:99"},
		{"interface_name", "networks: {other: {interface_name: data0}}", func(s *Service) any { return s.Networks[0].InterfaceName }, "data0"},
		{"cpuset", "cpuset: 0-1,3", func(s *Service) any { return s.Resources.CPUSet }, "0-1,3"},
		{"cgroup_parent", "cgroup_parent: /berth-test", func(s *Service) any { return s.CgroupParent }, "/berth-test"},
		{"blkio", "blkio_config: {weight: 300, device_read_bps: [{path: /dev/sda, rate: 1mb}]}",
			func(s *Service) any { return *s.Resources.Blkio }, BlkioConfig{Weight: 300, ReadBps: []BlkioRate{{"/dev/sda", 1 << 20}}}},
		{"device_cgroup_rules", "device_cgroup_rules: ['c 1:3 rwm', 'b *:* r']", func(s *Service) any { return s.Resources.DeviceCgroupRules }, []string{"c 1:3 rwm", "b *:* r"}},
		{"image volume", "volumes: [{type: image, source: alpine, target: /img, image: {subpath: etc}}]",
			func(s *Service) any { return s.Mounts }, []Mount{{Type: MountImage, Source: "alpine", Target: "/img", ReadOnly: true, SubPath: "/etc"}}},
		{"nothing unsupported", "post_start: [{command: 'true'}]\n    ipc: host\n    pid: host\n    uts: host\n    userns_mode: host\n    cgroup: host\n    links: [b]\n    logging: {driver: none}\n    cpuset: '0'\n    storage_opt: {size: 1G}\n    volumes: [{type: image, source: alpine, target: /img}]",
			func(s *Service) any { return len(s.Unsupported) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := loadService(t, tt.keys)
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.keys, err)
			}
			if got := tt.check(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%q) = %#v, want %#v", tt.keys, got, tt.want)
			}
		})
	}
}

func TestRuntimeKeysRefused(t *testing.T) {
	tests := []struct{ name, keys, want string }{
		{"ipc unknown service", "ipc: service:nope", `depends on undefined service "nope"`},
		{"ipc own service", "ipc: service:a", "dependency cycle"},
		{"ipc bad", "ipc: bogus", `ipc: "bogus" is not supported`},
		{"pid private", "pid: private", `pid: "private" is not supported`},
		{"uts bad", "uts: service:b", `uts: "service:b" is not supported`},
		{"userns remap", "userns_mode: keep-id", `userns_mode: "keep-id" is not supported`},
		{"cgroup bad", "cgroup: shared", "services.a.cgroup value must be one of"},
		{"logging syslog", "logging: {driver: syslog}", `logging: driver "syslog" is not supported`},
		{"logging bad size", "logging: {options: {max-size: lots}}", `max-size "lots"`},
		{"logging max-file alone", "logging: {options: {max-file: '3'}}", "needs max-size"},
		{"logging unknown option", "logging: {options: {syslog-address: x}}", `option "syslog-address"`},
		{"links unknown", "links: ['nope:db']", `depends on undefined service "nope"`},
		{"mac host network", "network_mode: host\n    mac_address: 02:42:ac:11:00:99", "needs the service on a network"},
		{"interface name too long", "networks: {other: {interface_name: averyveryverylongname}}", "interface_name"},
		{"interface name taken", "networks: {default: {interface_name: data}, other: {interface_name: data}}", "has that name already"},
		{"cpuset bad", "cpuset: 3-1", `cpuset "3-1"`},
		{"blkio weight", "blkio_config: {weight: 5}", "blkio_config.weight 5"},
		{"device rule", "device_cgroup_rules: ['x 1:3 rwm']", "device_cgroup_rules"},
		{"hook without command", "post_start: [{user: root}]", "services.a.post_start.0 missing property 'command'"},
		{"image subpath escapes", "volumes: [{type: image, source: alpine, target: /img, image: {subpath: ../x}}]", "image.subpath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadService(t, tt.keys)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "compose.yaml") {
				t.Errorf("Load(%q) = %v, want an error naming the file with %q", tt.keys, err, tt.want)
			}
		})
	}
}

func TestInterfaceNames(t *testing.T) {
	tests := []struct {
		names []string // interface_name of each network, in order
		want  string
	}{
		{[]string{"", ""}, "eth0 eth1"},
		{[]string{"backnet", ""}, "backnet eth0"},
		{[]string{"", "eth0"}, "eth1 eth0"},
		{[]string{"eth1", "", ""}, "eth1 eth0 eth2"},
	}
	for _, tt := range tests {
		s := &Service{}
		for _, n := range tt.names {
			s.Networks = append(s.Networks, ServiceNetwork{InterfaceName: n})
		}
		if got := strings.Join(s.InterfaceNames(), " "); got != tt.want {
			t.Errorf("InterfaceNames(%q) = %s, want %s", tt.names, got, tt.want)
		}
	}
}
