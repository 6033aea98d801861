package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadYAML(t *testing.T, yaml string) (*Project, error) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadTestdata(t, Options{ProjectDir: dir, Files: []string{f}})
}

func TestWatchRules(t *testing.T) {
	p, err := loadYAML(t, `
name: w
services:
  web:
    image: busybox
    build: .
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src/
          ignore: [node_modules/]
          initial_sync: true
        - path: ./conf
          action: sync+exec
          target: /etc/app
          exec:
            command: ["kill", "-HUP", "1"]
            user: root
        - path: package.json
          action: rebuild
`)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	rules := p.Service("web").Watch
	if len(rules) != 3 {
		t.Fatalf("web.Watch = %+v, want 3 rules", rules)
	}
	dir := p.WorkingDir
	if r := rules[0]; r.Path != filepath.Join(dir, "src") || r.Action != WatchSync || r.Target != "/app/src" || !r.InitialSync || strings.Join(r.Ignore, ",") != "node_modules/" {
		t.Errorf("rule 0 = %+v, want sync %s -> /app/src, initial_sync, ignore node_modules/", r, filepath.Join(dir, "src"))
	}
	if r := rules[1]; r.Exec == nil || strings.Join(r.Exec.Command, " ") != "kill -HUP 1" || r.Exec.User != "root" {
		t.Errorf("rule 1 exec = %+v, want kill -HUP 1 as root", r.Exec)
	}
	if r := rules[2]; r.Action != WatchRebuild || r.Path != filepath.Join(dir, "package.json") {
		t.Errorf("rule 2 = %+v, want rebuild of package.json", r)
	}
	if u := p.Service("web").Unsupported; len(u) != 0 {
		t.Errorf("Unsupported = %v, want none (develop is run by berth watch)", u)
	}
}

func TestWatchRuleErrors(t *testing.T) {
	tests := []struct {
		name, rule string
		want       string
	}{
		{"no target", "{path: ., action: sync}", "target is required"},
		{"relative target", "{path: ., action: sync+restart, target: app}", `target "app" must be an absolute path`},
		{"no exec", "{path: ., action: sync+exec, target: /app}", "develop.watch[0].exec[0]: command is required"},
		{"rebuild without build", "{path: ., action: rebuild}", "action rebuild needs a build section"},
		{"exec on restart", "{path: ., action: restart, exec: {command: [\"true\"]}}", "exec is only run by action sync+exec"},
		{"initial sync on restart", "{path: ., action: restart, initial_sync: true}", "initial_sync needs a sync action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, "services:\n  web:\n    image: busybox\n    develop:\n      watch:\n        - "+tt.rule+"\n")
			if err == nil {
				t.Fatalf("Load(%s) = nil error, want %q", tt.rule, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "web") {
				t.Errorf("Load(%s) error = %q, want it to name web and say %q", tt.rule, err, tt.want)
			}
		})
	}
}
