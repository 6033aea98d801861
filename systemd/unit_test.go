package systemd

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		unit Unit
	}{
		{"minimal", Unit{
			Project: "demo", Berth: "/usr/local/bin/berth",
			Files: []string{"/srv/demo/compose.yaml"}, ProjectDir: "/srv/demo",
		}},
		{"everything", Unit{
			Project: "shop-2", Berth: "/opt/berth tools/berth",
			Files:      []string{"/srv/shop/compose.yaml", "/srv/shop/compose.prod.yaml"},
			ProjectDir: "/srv/shop",
			EnvFiles:   []string{"/srv/shop/.env", "/etc/shop/100%.env"},
			Profiles:   []string{"web", "jobs"},
			GlobalArgs: []string{"--address", "/run/containerd/containerd.sock", "--namespace", "shop"},
			Environment: []string{
				"BERTH_DATA_DIR=/data/berth", `BERTH_DNS_UPSTREAM=10.0.0.1:53 "quoted"`, "HOME=/root",
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.unit.Render()
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			golden := filepath.Join("testdata", tt.name+".service")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./systemd -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("Render() =\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

func TestQuoteArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/local/bin/berth", "/usr/local/bin/berth"},
		{"--project-directory", "--project-directory"},
		{"/srv/my project", `"/srv/my project"`},
		{"100%", "100%%"},
		{"$HOME", "$$HOME"},
		{`a"b`, `"a\"b"`},
		{`back\slash`, `"back\\slash"`},
		{"it's", `"it's"`},
		{";", `";"`},
		{"tab\there", `"tab\there"`},
		{"", `""`},
	}
	for _, tt := range tests {
		if got := quoteArg(tt.in); got != tt.want {
			t.Errorf("quoteArg(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	ok := Unit{Project: "demo", Berth: "/bin/berth", Files: []string{"/srv/compose.yaml"}, ProjectDir: "/srv"}
	tests := []struct {
		name   string
		change func(*Unit)
		want   string
	}{
		{"no project", func(u *Unit) { u.Project = "" }, `project name ""`},
		{"odd project", func(u *Unit) { u.Project = "Demo/x" }, `project name "Demo/x"`},
		{"relative berth", func(u *Unit) { u.Berth = "bin/berth" }, `"bin/berth" is not an absolute path`},
		{"relative file", func(u *Unit) { u.Files = []string{"compose.yaml"} }, `"compose.yaml" is not an absolute path`},
		{"relative env file", func(u *Unit) { u.EnvFiles = []string{".env"} }, `".env" is not an absolute path`},
		{"no file", func(u *Unit) { u.Files = nil }, "no compose file"},
		{"line break", func(u *Unit) { u.ProjectDir = "/srv/a\nb" }, "line break"},
		{"bad environment", func(u *Unit) { u.Environment = []string{"NOVALUE"} }, `environment "NOVALUE"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := ok
			tt.change(&u)
			if _, err := u.Render(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
