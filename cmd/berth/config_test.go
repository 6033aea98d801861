package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// berth runs the command line in-process and returns its standard output.
func berth(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestConfigFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("compose.yaml", `name: demo
services:
  db:
    image: postgres:${PG:-16}
    profiles: [data]
  web:
    build: .
    environment:
      GREETING: ${GREETING}
volumes:
  data: {}
`)
	write("other.env", "GREETING=from-env-file\nPG=15\n")
	file := filepath.Join(dir, "compose.yaml")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"services", []string{"config", "--services"}, "web\n"},
		{"services with profile", []string{"--profile", "data", "config", "--services"}, "db\nweb\n"},
		{"profiles", []string{"config", "--profiles"}, "data\n"},
		{"images", []string{"--profile", "data", "config", "--images"}, "postgres:16\ndemo-web\n"},
		{"env file", []string{"--env-file", filepath.Join(dir, "other.env"), "--profile", "data", "config", "--images"}, "postgres:15\ndemo-web\n"},
		{"quiet", []string{"config", "-q"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := berth(t, append([]string{"-f", file}, tt.args...)...)
			if err != nil {
				t.Fatalf("berth %v: %v", tt.args, err)
			}
			if tt.name == "images" || tt.name == "env file" {
				// Service order is the project's; compare as sets.
				if !sameLines(out, tt.want) {
					t.Errorf("berth %v = %q, want %q", tt.args, out, tt.want)
				}
				return
			}
			if out != tt.want {
				t.Errorf("berth %v = %q, want %q", tt.args, out, tt.want)
			}
		})
	}

	out, err := berth(t, "-f", file, "config", "--hash", "*")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out)
	if len(fields) != 2 || fields[0] != "web" || len(fields[1]) != 64 {
		t.Errorf("config --hash '*' = %q, want one 'web <sha256>' line", out)
	}
	out2, _ := berth(t, "-f", file, "--env-file", filepath.Join(dir, "other.env"), "config", "--hash", "web")
	if out2 == out {
		t.Errorf("config --hash did not change with the environment: %q", out2)
	}

	out, err = berth(t, "-f", file, "--env-file", filepath.Join(dir, "other.env"), "config", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Name     string
		Services map[string]struct {
			Environment map[string]string
		}
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("config --format json is not JSON: %v\n%s", err, out)
	}
	if m.Name != "demo" || m.Services["web"].Environment["GREETING"] != "from-env-file" {
		t.Errorf("config json = %+v", m)
	}

	if _, err := berth(t, "-f", file, "config", "--format", "toml"); err == nil || !strings.Contains(err.Error(), "use yaml or json") {
		t.Errorf("config --format toml = %v", err)
	}
}

func sameLines(a, b string) bool {
	la, lb := strings.Fields(a), strings.Fields(b)
	if len(la) != len(lb) {
		return false
	}
	seen := map[string]int{}
	for _, l := range la {
		seen[l]++
	}
	for _, l := range lb {
		seen[l]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestCommandsNeedRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("checks the message non-root users get")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  a:\n    image: busybox\n"), 0o644)
	if _, err := berth(t, "-f", filepath.Join(dir, "compose.yaml"), "ps"); err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("ps as non-root = %v, want a clear 'needs root' error", err)
	}
}

func TestSubnetPool(t *testing.T) {
	tests := []struct {
		env, pool string
		bits      int
		wantErr   bool
	}{
		{"", "invalid Prefix", 0, false},
		{"10.200.0.0/16", "10.200.0.0/16", 24, false},
		{"10.200.0.0/16/26", "10.200.0.0/16", 26, false},
		{"10.200.0.0/28", "", 0, true},
		{"fd00::/8", "", 0, true},
		{"10.200.0.0/16/40", "", 0, true},
	}
	for _, tt := range tests {
		t.Setenv("BERTH_SUBNET_POOL", tt.env)
		pool, bits, err := subnetPool()
		if (err != nil) != tt.wantErr || (!tt.wantErr && (pool.String() != tt.pool || bits != tt.bits)) {
			t.Errorf("subnetPool(%q) = %s, %d, %v; want %s, %d, error %v", tt.env, pool, bits, err, tt.pool, tt.bits, tt.wantErr)
		}
	}
}

// TestConfigListings: config --networks, --models, --environment,
// --no-consistency and the convert alias, as docker compose has them.
func TestConfigListings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(`name: demo
services:
  web:
    image: nginx:${TAG:-1}
    networks: [front, back]
    models: [llm]
networks:
  front: {}
  back: {}
models:
  llm:
    model: ai/smollm2
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("TAG=2\nZZ_BERTH_TEST=last\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "--networks"}, "back\nfront\n"},
		{[]string{"config", "--models"}, "ai/smollm2\n"},
		{[]string{"convert", "--networks"}, "back\nfront\n"},
	} {
		out, err := berth(t, append([]string{"-f", file}, tt.args...)...)
		if err != nil || out != tt.want {
			t.Errorf("berth %v = %q, %v; want %q", tt.args, out, err, tt.want)
		}
	}
	out, err := berth(t, "-f", file, "config", "--environment")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if err != nil || !strings.Contains(out, "\nTAG=2\n") || !strings.Contains(out, "\nZZ_BERTH_TEST=last\n") || !slices.IsSorted(lines) {
		t.Errorf("config --environment = %q, %v; want TAG=2 and the .env's variables, sorted", out, err)
	}

	// A service on an undefined network: refused, unless --no-consistency.
	if err := os.WriteFile(file, []byte("name: demo\nservices:\n  web:\n    image: nginx\n    networks: [nowhere]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := berth(t, "-f", file, "config"); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("config of a service on an undefined network: %v", err)
	}
	if _, err := berth(t, "-f", file, "config", "--no-consistency"); err != nil {
		t.Errorf("config --no-consistency: %v", err)
	}
}

func TestConfigVariablesAndNoInterpolate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(`name: demo
services:
  web:
    image: busybox:${TAG:?set TAG}
    environment:
      X: ${ALT:+yes}
    ports:
      - ${PORT:-8080}:80
`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // lines or fragments of the output, in order
	}{
		{"table", []string{"config", "--variables"}, []string{
			"NAME                REQUIRED            DEFAULT VALUE       ALTERNATE VALUE\n",
			"ALT                 false                                   yes\n",
			"PORT                false               8080                \n",
			"TAG                 true                                    \n",
		}},
		{"json", []string{"config", "--variables", "--format", "json"}, []string{
			"\"PORT\": {\n        \"Name\": \"PORT\",\n        \"DefaultValue\": \"8080\",\n        \"PresenceValue\": \"\",\n        \"Required\": false\n    }",
		}},
		{"yaml", []string{"config", "--variables", "--format", "yaml"}, []string{
			"TAG:\n    name: TAG\n    defaultvalue: \"\"\n    presencevalue: \"\"\n    required: true\n",
		}},
		{"no-interpolate", []string{"config", "--no-interpolate"}, []string{"image: busybox:${TAG:?set TAG}", "- ${PORT:-8080}:80"}},
		{"no-interpolate, a service named", []string{"config", "--no-interpolate", "web"}, []string{"- ${PORT:-8080}:80"}},
		{"no-interpolate services", []string{"config", "--no-interpolate", "--services"}, []string{"web\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := berth(t, append([]string{"-f", file}, tt.args...)...)
			if err != nil {
				t.Fatalf("berth %q: %v", tt.args, err)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("berth %q printed\n%s\nwant, in order, %q", tt.args, out, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	if _, err := berth(t, "-f", file, "config", "--variables", "--format", "xml"); err == nil || !strings.Contains(err.Error(), "use table, json or yaml") {
		t.Errorf("config --variables --format xml = %v, want an error naming the formats", err)
	}
}
