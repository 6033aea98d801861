package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// Fuzz targets of compose loading and of berth's own conversions. Seeds
// are below and under testdata/fuzz; `make fuzz` runs each for a while:
//
//	go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 60s ./compose

// loadBytes loads content as the only compose file of a project.
func loadBytes(t *testing.T, content []byte) (*Project, error) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(context.Background(), Options{Files: []string{file}, ProjectName: "fuzz", ProjectDir: dir})
}

// FuzzLoad: any bytes load or fail with one line; never a panic, and
// never an expansion past the alias bound (a file the bound lets through
// is at most MaxAliasNodes nodes larger once decoded).
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"services:\n  a:\n    image: busybox\n",
		laughs,
		"x-a: &a {image: busybox}\nservices:\n  a: *a\n  b:\n    <<: *a\n    ports: ['8080:80']\n",
		"services:\n  a:\n    image: busybox\n    tmpfs: ['/x:size=1m,mode=700']\n    volumes: ['/a:/b:ro', 'd:/d']\nvolumes:\n  d: {}\n",
		"services:\n  a: &a\n    image: busybox\n    labels: {x: *a}\n",
		"services:\n  a:\n    image: busybox\n    cpus: 1e9\n    stop_grace_period: -1s\n    ulimits: {nofile: {soft: 2, hard: 1}}\n",
		"services:\n  a:\n    build: .\n    healthcheck: {test: [CMD, x], interval: 1ns}\n",
		"--- \nservices: {a: {image: x}}\n---\nservices: {b: {image: y}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		if len(content) > 64<<10 {
			return
		}
		if err := CheckYAMLBounds("f.yaml", content); err == nil {
			dec := yaml.NewDecoder(strings.NewReader(string(content)))
			for {
				var doc yaml.Node
				if dec.Decode(&doc) != nil {
					break
				}
				if n := expanded(&doc, MaxYAMLDepth+10); n > literalNodes(&doc)+MaxAliasNodes {
					t.Fatalf("CheckYAMLBounds let through a document of %d nodes once expanded", n)
				}
			}
		}
		_, err := loadBytes(t, content)
		if err != nil && strings.Contains(err.Error(), "\n") && !strings.Contains(string(content), "\n") {
			// compose-go quotes the file's own lines in some errors; a
			// one-line file must give a one-line error.
			t.Errorf("error of several lines: %q", err)
		}
	})
}

// expanded counts the nodes of n with aliases expanded, stopping (and
// returning a large count) past depth: what yaml decoding would make.
func expanded(n *yaml.Node, depth int) int {
	if n == nil {
		return 0
	}
	if depth == 0 {
		return 1 << 30
	}
	if n.Kind == yaml.AliasNode {
		return expanded(n.Alias, depth-1)
	}
	c := 1
	for _, ch := range n.Content {
		c += expanded(ch, depth-1)
		if c > 1<<30 {
			return c
		}
	}
	return c
}

// serviceKeys are the service keys FuzzServiceValue puts a value under:
// those berth converts itself.
var serviceKeys = []string{
	"ports", "volumes", "tmpfs", "labels", "stop_grace_period", "stop_signal", "shm_size", "mem_limit",
	"memswap_limit", "cpus", "cap_add", "cap_drop", "ulimits", "sysctls", "restart", "scale",
	"healthcheck", "dns", "extra_hosts", "devices", "oom_score_adj", "pids_limit", "cpu_period",
	"cpu_quota", "deploy", "env_file", "environment", "user", "container_name", "networks",
}

// FuzzServiceValue puts a YAML value under one service key: the
// conversions (ports, volumes, tmpfs, durations, sizes, ...) never panic,
// and what loads converts back to sane values.
func FuzzServiceValue(f *testing.F) {
	for _, s := range []struct {
		key   uint8
		value string
	}{
		{0, "['8080:80', '127.0.0.1:53:53/udp', '9000-9001:80-81']"},
		{0, "['65536:80']"},
		{1, "['/data:zz', 'data:0', './x:rel', '/a:/b:ro,z']"},
		{2, "['/x:size=1m', '/y:size=-1', '/z:mode=888']"},
		{3, "{a: b, 'c=d': e}"},
		{4, "-5s"},
		{4, "1h2m3s"},
		{5, "SIGKILL"},
		{6, "64m"},
		{7, "-1"},
		{9, "99999"},
		{10, "[net_admin, CAP_BOGUS, ALL]"},
		{12, "{nofile: {soft: 10, hard: 5}, core: -1}"},
		{13, "{net.ipv4.ip_forward: 1, kernel.panic: 1}"},
		{14, "on-failure:-3"},
		{15, "-2"},
		{16, "{test: [CMD, 'true'], interval: 0.5ms, retries: 3}"},
		{24, "{replicas: -1, restart_policy: {condition: any, delay: -1s}}"},
		{25, "[.env.missing]"},
	} {
		f.Add(s.key, s.value)
	}
	f.Fuzz(func(t *testing.T, key uint8, value string) {
		if len(value) > 4096 {
			return
		}
		k := serviceKeys[int(key)%len(serviceKeys)]
		content := fmt.Sprintf("services:\n  a:\n    image: busybox\n    %s: %s\nvolumes:\n  data: {}\n", k, value)
		p, err := loadBytes(t, []byte(content))
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(value, "\n") {
				t.Errorf("%s: %s: error of several lines: %q", k, value, err)
			}
			return
		}
		s := p.Service("a")
		if s == nil {
			return
		}
		if s.GracePeriod() < 0 {
			t.Errorf("stop_grace_period %s: loaded as %s", value, s.GracePeriod())
		}
		if s.Replicas < 0 {
			t.Errorf("%s %s: %d replicas", k, value, s.Replicas)
		}
		for _, m := range s.Mounts {
			if !strings.HasPrefix(m.Target, "/") || m.TmpfsSize < 0 {
				t.Errorf("%s %s: mount %+v", k, value, m)
			}
		}
		for _, pm := range s.Ports {
			if pm.ContainerPort == 0 || pm.HostPortMin > pm.HostPortMax {
				t.Errorf("%s %s: port %+v", k, value, pm)
			}
		}
	})
}

// FuzzParsePorts: run -p values parse or fail; what parses prints back
// to the same mappings.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "127.0.0.1:53:53/udp", "9000-9005:80", "[::]:80:80", "0:0", "1-0:1", "80/sctp", "a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ms, err := ParsePorts([]string{spec})
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.ContainerPort == 0 || m.HostPortMin > m.HostPortMax || (m.HostPortMin == 0) != (m.HostPortMax == 0) {
				t.Fatalf("ParsePorts(%q) = %+v", spec, m)
			}
			again, err := ParsePorts([]string{m.String()})
			if err != nil || len(again) != 1 || again[0] != m {
				t.Fatalf("ParsePorts(%q) = %+v, printed %q, which parses as %+v, %v", spec, m, m.String(), again, err)
			}
		}
	})
}

// FuzzParseTmpfs: tmpfs entries parse or fail; what parses has an
// absolute target and options that parse again to the same.
func FuzzParseTmpfs(f *testing.F) {
	for _, s := range []string{"/x", "/x:size=1m", "/x:size=10%,mode=1777,uid=1,gid=2,noexec,ro", "x", "/x:size=-1", "/x:bogus", "/x:size=9999999999999999e", "/:size=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		m, err := ParseTmpfs(spec)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(spec, "\n") {
				t.Errorf("ParseTmpfs(%q): error of several lines: %v", spec, err)
			}
			return
		}
		if !strings.HasPrefix(m.Target, "/") || m.Target == "/" || m.TmpfsSize < 0 || m.Type != MountTmpfs {
			t.Fatalf("ParseTmpfs(%q) = %+v", spec, m)
		}
		opts := m.TmpfsOptions
		if m.TmpfsSize > 0 {
			opts = strings.TrimPrefix(opts+",size="+strconv.FormatInt(m.TmpfsSize, 10), ",")
		}
		if m.ReadOnly {
			opts = strings.TrimPrefix(opts+",ro", ",")
		}
		again, err := ParseTmpfs(m.Target + ":" + opts)
		if err != nil || again != m {
			t.Fatalf("ParseTmpfs(%q) = %+v; printed %q, which parses as %+v, %v", spec, m, m.Target+":"+opts, again, err)
		}
	})
}

// FuzzParseVolumes: run -v values parse or fail, never with a relative
// target.
func FuzzParseVolumes(f *testing.F) {
	for _, s := range []string{"/a:/b", "./x:/y:ro", "data:/d", "data:0", "/data", "~/x:/x", "a:b:c:d", ""} {
		f.Add(s)
	}
	p := &Project{Name: "fuzz", WorkingDir: "/work", Volumes: map[string]Volume{"data": {Name: "fuzz_data"}}}
	f.Fuzz(func(t *testing.T, spec string) {
		ms, err := ParseVolumes(p, []string{spec})
		if err != nil {
			return
		}
		for _, m := range ms {
			if !strings.HasPrefix(m.Target, "/") {
				t.Fatalf("ParseVolumes(%q) = %+v: a relative target", spec, m)
			}
			if m.Type == MountBind && !strings.HasPrefix(m.Source, "/") {
				t.Fatalf("ParseVolumes(%q) = %+v: a relative source", spec, m)
			}
		}
	})
}

// FuzzEnvFile: raw env files and KEY=VALUE arguments parse or fail with
// one line naming the place; keys never hold '=' or whitespace.
func FuzzEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\nB=2\n", "\uFEFFA=1", "# c\n\nA\n", "=x", "A B=1", "A=" + strings.Repeat("x", 70000), "A=1\r\nB=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		vars := map[string]string{}
		err := parseRawEnvFile(strings.NewReader(content), "f.env", vars, func(k string) (string, bool) { return "from-env", k == "SET" })
		if err != nil {
			if !strings.Contains(err.Error(), "f.env") {
				t.Errorf("parseRawEnvFile error %q does not name the file", err)
			}
			return
		}
		for k := range vars {
			if k == "" || strings.ContainsAny(k, "=") || strings.ContainsFunc(k, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
				t.Errorf("parseRawEnvFile(%q) made key %q", content, k)
			}
		}
		args := strings.Split(content, "\n")
		env, err := ParseEnvArgs("-e", args, func(string) (string, bool) { return "", false })
		if err != nil {
			return
		}
		for k := range env {
			if k == "" || strings.Contains(k, "=") {
				t.Errorf("ParseEnvArgs(%q) made key %q", args, k)
			}
		}
	})
}

// FuzzLabels: labels read back from containers (any value: another tool
// may have set them) never panic, and a bad restart label is an error.
func FuzzLabels(f *testing.F) {
	for _, s := range []string{`{"Condition":"always"}`, "", "{", "12", "-1", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		l := Labels{LabelRestart: v, LabelRestartCount: v, LabelNumber: v}
		_ = l.RestartCount()
		_ = l.Number()
		p, err := l.Restart()
		if err != nil && p.Condition != RestartNo {
			t.Errorf("Restart() of %q = %+v with error %v, want no restart", v, p, err)
		}
	})
}

// FuzzSizes: tmpfs sizes (the kernel's memparse syntax) never overflow.
func FuzzSizes(f *testing.F) {
	for _, s := range []string{"1", "1k", "64m", "2G", "8e", "9e", "-1", "", "k", "1.5m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseMemSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseMemSize(%q) = %d", s, n)
		}
		var u types.UnitBytes
		_ = u.DecodeMapstructure(s) // compose-go's sizes, as mem_limit uses them
		_ = errors.Unwrap(err)
	})
}
