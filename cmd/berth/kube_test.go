package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/kube"
)

// TestKubeBadInput: each bad input on a cluster is one clear line, and
// nothing is tried on this machine instead.
func TestKubeBadInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"" + closed + "\"}\n" +
		"users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: here\n  context: {cluster: c, user: u}\ncurrent-context: here\n"
	if err := os.WriteFile(cfg, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	const compose = "services:\n  db:\n    image: busybox\n  web:\n    image: busybox\n    depends_on: [db]\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope")
	project := []string{"-p", "demo", "--project-directory", dir}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing kubeconfig", []string{"--kubeconfig", missing, "ps"}, "kubeconfig " + missing + ": no such file"},
		{"unknown context", []string{"--kubeconfig", cfg, "--context", "prod", "logs"}, `kubeconfig context "prod" not found`},
		{"unreachable cluster", []string{"--kubeconfig", cfg, "down"}, "cluster " + closed + " does not answer"},
		{"unreachable cluster, wait", []string{"--kubeconfig", cfg, "wait", "web"}, "cluster " + closed + " does not answer"},
		{"a local-only command", []string{"--kube", "exec", "web", "sh"}, "berth exec does not act on a cluster"},
		{"up with services", []string{"--kubeconfig", cfg, "up", "-d", "web"}, "cluster " + closed + " does not answer"},
		{"up with an unknown service", []string{"--kubeconfig", cfg, "up", "-d", "web", "nope"}, "no such service: nope: the project's services are db, web"},
		{"up --no-deps with an unknown service", []string{"--kubeconfig", cfg, "up", "-d", "--no-deps", "nope"}, "no such service: nope"},
		{"down with an unknown service", []string{"--kubeconfig", cfg, "down", "nope"}, "no such service: nope"},
		{"ps with an unknown service", []string{"--kubeconfig", cfg, "ps", "nope"}, "no such service: nope"},
		{"logs with an unknown service", []string{"--kubeconfig", cfg, "logs", "nope"}, "no such service: nope"},
		{"wait for an unknown service", []string{"--kubeconfig", cfg, "wait", "nope"}, "no such service: nope"},
		{"up --registry with a scheme", []string{"--kubeconfig", cfg, "up", "-d", "--registry", "http://127.0.0.1:5000"}, "without a scheme or a tag"},
		{"up --registry on this machine", []string{"up", "-d", "--registry", "127.0.0.1:5000"}, "--registry is for up on a cluster (--kubeconfig)"},
		{"logs --since", []string{"--kubeconfig", cfg, "logs", "--since", "1m"}, "cluster " + closed + " does not answer"},
		{"logs --since, not a time", []string{"--kubeconfig", cfg, "logs", "--since", "yesterday"}, `logs --since: "yesterday" is neither a time`},
		{"logs --until, not a time", []string{"--kubeconfig", cfg, "logs", "--until", "soon"}, `logs --until: "soon" is neither a time`},
		{"logs --index without a service", []string{"--kubeconfig", cfg, "logs", "--index", "2"}, "logs --index 2 on a cluster: name the one service"},
		{"logs --index with two services", []string{"--kubeconfig", cfg, "logs", "--index", "1", "db", "web"}, "name the one service"},
		{"logs --system", []string{"--kubeconfig", cfg, "logs", "--system"}, "logs --system does not act on a cluster"},
		{"ps --format template", []string{"--kubeconfig", cfg, "ps", "--format", "{{.Name}}"}, "use table or json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, project...), tc.args...)
			cmd := newRootCmdWith(&globalOptions{})
			cmd.SetArgs(args)
			var out strings.Builder
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("berth %v = %v, want one line with %q", args, err, tc.want)
			}
		})
	}
}

// TestKubeconfigEnvAloneIsLocal: $KUBECONFIG alone does not send the
// project commands to a cluster; --kube does.
func TestKubeconfigEnvAloneIsLocal(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "config"))
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"version"}, false},
		{[]string{"--kube", "version"}, true},
		{[]string{"--context", "c", "version"}, true},
	} {
		opts := &globalOptions{}
		cmd := newRootCmdWith(opts)
		cmd.SetArgs(tc.args)
		var out strings.Builder
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("berth %v: %v", tc.args, err)
		}
		if got := opts.kube.Enabled(); got != tc.want {
			t.Errorf("berth %v: on a cluster = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestKubeSelection: up SERVICE... on a cluster applies the named services
// and what they depend on, transitively, as up does on one machine;
// --no-deps the named ones only; no names, the whole project (nil).
func TestKubeSelection(t *testing.T) {
	p := &compose.Project{Name: "demo", Services: []*compose.Service{
		{Name: "db"},
		{Name: "cache"},
		{Name: "api", DependsOn: map[string]compose.Dependency{"db": {Condition: compose.ConditionHealthy}, "cache": {}}},
		{Name: "web", DependsOn: map[string]compose.Dependency{"api": {}}},
		{Name: "worker", DependsOn: map[string]compose.Dependency{"db": {Condition: compose.ConditionCompletedSuccessfully}}},
		{Name: "lone"},
	}}
	for _, tc := range []struct {
		named  []string
		noDeps bool
		want   []string
	}{
		{nil, false, nil},
		{[]string{}, true, nil},
		{[]string{"lone"}, false, []string{"lone"}},
		{[]string{"web"}, false, []string{"api", "cache", "db", "web"}},
		{[]string{"web", "worker"}, false, []string{"api", "cache", "db", "web", "worker"}},
		{[]string{"web"}, true, []string{"web"}},
		{[]string{"worker", "web", "web"}, true, []string{"web", "worker"}},
		{[]string{"db"}, false, []string{"db"}},
	} {
		got, err := kubeSelection(p, tc.named, tc.noDeps)
		if err != nil || !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("kubeSelection(%q, noDeps %v) = %q, %v, want %q", tc.named, tc.noDeps, got, err, tc.want)
		}
	}
}

// TestKubeDownSelection: down SERVICE... on a cluster takes the named
// services only, as docker compose's with its compose file.
func TestKubeDownSelection(t *testing.T) {
	p := &compose.Project{Name: "demo", Services: []*compose.Service{
		{Name: "db"},
		{Name: "api", DependsOn: map[string]compose.Dependency{"db": {Condition: compose.ConditionHealthy}}},
		{Name: "lone"},
	}}
	byName := &compose.Project{Name: "demo", FromLabels: true}
	for _, tc := range []struct {
		p     *compose.Project
		named []string
		want  []string
	}{
		{p, nil, nil},
		{p, []string{"db"}, []string{"db"}},
		{p, []string{"lone", "db", "lone"}, []string{"db", "lone"}},
		{byName, []string{"db", "api", "db"}, []string{"api", "db"}},
	} {
		got := kubeDownSelection(tc.p, tc.named)
		if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("kubeDownSelection(%q, by name %v) = %q, want %q", tc.named, tc.p.FromLabels, got, tc.want)
		}
	}
}

// TestKubeLogWindow: --since and --until are read by the local logs'
// parser at the same now; a --since duration goes to the API as whole
// seconds (rounded up), a time as Since.
func TestKubeLogWindow(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 6, 9, 30, 15, 500_000_000, time.UTC)
	for _, tc := range []struct {
		since, until string
		want         kube.LogOptions
	}{
		{"", "", kube.LogOptions{}},
		{"10m", "", kube.LogOptions{SinceSeconds: 600}},
		{"1.5s", "", kube.LogOptions{SinceSeconds: 2}},
		{"2026-12-06T09:30:15.5Z", "", kube.LogOptions{Since: at}},
		{"", "2026-12-06T09:30:15.5Z", kube.LogOptions{Until: at}},
		{"1h", "5m", kube.LogOptions{SinceSeconds: 3600, Until: now.Add(-5 * time.Minute)}},
		{"2026-12-06", "", kube.LogOptions{Since: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}},
	} {
		var got kube.LogOptions
		if err := kubeLogWindow(&got, logsOptions{since: tc.since, until: tc.until}, now); err != nil {
			t.Errorf("kubeLogWindow(since %q, until %q): %v", tc.since, tc.until, err)
			continue
		}
		if !got.Since.Equal(tc.want.Since) || !got.Until.Equal(tc.want.Until) || got.SinceSeconds != tc.want.SinceSeconds {
			t.Errorf("kubeLogWindow(since %q, until %q) = since %v (%ds), until %v, want since %v (%ds), until %v",
				tc.since, tc.until, got.Since, got.SinceSeconds, got.Until, tc.want.Since, tc.want.SinceSeconds, tc.want.Until)
		}
	}
}

// TestLoadKubeProject: up SERVICE... on a cluster converts the whole
// project (names resolve as when all of it is up, the objects are those
// of a full up), with a named service of an inactive profile enabled.
func TestLoadKubeProject(t *testing.T) {
	dir := t.TempDir()
	const file = "name: demo\nservices:\n  db:\n    image: busybox\n  web:\n    image: busybox\n    depends_on: [db]\n" +
		"  lone:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [debug]\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		services, want []string
	}{
		{nil, []string{"db", "lone", "web"}},
		{[]string{"web"}, []string{"db", "lone", "web"}},
		{[]string{"debug"}, []string{"db", "debug", "lone", "web"}},
	} {
		g := &globalOptions{projectDir: dir}
		p, err := g.loadKubeProject(context.Background(), tc.services)
		if err != nil {
			t.Fatalf("loadKubeProject(%q): %v", tc.services, err)
		}
		if got := p.ServiceNames(); !slices.Equal(got, tc.want) {
			t.Errorf("loadKubeProject(%q) services = %q, want %q", tc.services, got, tc.want)
		}
	}
}
