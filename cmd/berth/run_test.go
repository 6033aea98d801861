package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

// TestRunFlagErrors checks the flags run refuses before it connects to
// containerd (a case that got further would start the project's daemon
// from the test binary: keep them failing early).
func TestRunFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  web:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"env from a missing file", []string{"run", "--rm", "-d", "--env-from-file", "/nonexistent/run.env", "web"}, "run --env-from-file: open /nonexistent/run.env"},
		{"env without a name", []string{"run", "-e", "=x", "web"}, `run -e "=x": give KEY=VALUE or KEY`},
		{"unknown service", []string{"run", "nope"}, `no such service: nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := berth(t, append([]string{"-f", file, "-p", "demo"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("berth %s = %v, want an error containing %q", strings.Join(tt.args, " "), err, tt.want)
			}
		})
	}
}

func TestRunEnv(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "run.env")
	if err := os.WriteFile(envFile, []byte("FOO=BAR\nFROM_FILE=${DOT}-x\nSET=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The variables the project was loaded with: the shell's over .env's.
	p := &compose.Project{Environment: map[string]string{"DOT": "dotenv", "SHELL_VAR": "shell"}}
	tests := []struct {
		name  string
		env   []string
		files []string
		want  string
	}{
		{"bare names from the project's variables", []string{"DOT", "SHELL_VAR", "UNSET"}, nil, "DOT=dotenv SHELL_VAR=shell"},
		{"values", []string{"A=1", "A=2"}, nil, "A=2"},
		{"env from file, -e wins", []string{"SET=flag", "DOT=d"}, []string{envFile}, "DOT=d FOO=BAR FROM_FILE=d-x SET=flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := runEnv(p, runOptions{env: tt.env, envFromFile: tt.files})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(compose.EnvList(env), " "); got != tt.want {
				t.Errorf("runEnv(-e %q, files %q) = %s, want %s", tt.env, tt.files, got, tt.want)
			}
		})
	}
}
