package compose

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

const compatFile = `name: demo
services:
  web:
    image: busybox
    networks: [front]
    volumes: ["data:/data"]
  app:
    build: .
    networks: [back]
  fixed:
    image: busybox
    container_name: the-one
networks:
  front: {}
  back: {}
  spare: {}
volumes:
  data: {}
  unused: {}
`

func writeCompat(t *testing.T, env string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compatFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if env != "" {
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCompatibilityNames checks compose v1's underscore names under
// --compatibility and COMPOSE_COMPATIBILITY, and the v2 names without.
func TestCompatibilityNames(t *testing.T) {
	tests := []struct {
		name    string
		opt     bool
		environ []string
		dotenv  string
		web     string
		oneOff  string
		image   string
	}{
		{"default", false, nil, "", "demo-web-2", "demo-web-run-abc", "demo-app"},
		{"flag", true, nil, "", "demo_web_2", "demo_web_run_abc", "demo_app"},
		{"environment", false, []string{"COMPOSE_COMPATIBILITY=true"}, "", "demo_web_2", "demo_web_run_abc", "demo_app"},
		{"dotenv", false, nil, "COMPOSE_COMPATIBILITY=1\n", "demo_web_2", "demo_web_run_abc", "demo_app"},
		{"environment false", false, []string{"COMPOSE_COMPATIBILITY=false"}, "", "demo-web-2", "demo-web-run-abc", "demo-app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCompat(t, tt.dotenv)
			p, err := Load(context.Background(), Options{ProjectDir: dir, Files: []string{filepath.Join(dir, "compose.yaml")}, Compatibility: tt.opt, Environ: tt.environ})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			web := p.Service("web")
			if got := web.ContainerNameFor(2); got != tt.web {
				t.Errorf("ContainerNameFor(2) = %q, want %q", got, tt.web)
			}
			if got := web.OneOffName("abc"); got != tt.oneOff {
				t.Errorf("OneOffName = %q, want %q", got, tt.oneOff)
			}
			if got := p.Service("app").ImageName(); got != tt.image {
				t.Errorf("ImageName = %q, want %q", got, tt.image)
			}
			if got := p.Service("fixed").ContainerNameFor(1); got != "the-one" {
				t.Errorf("container_name: ContainerNameFor(1) = %q, want the-one", got)
			}
			if got := p.Volumes["data"].Name; got != "demo_data" {
				t.Errorf("volume name = %q, want demo_data in both modes", got)
			}
		})
	}
}

// TestLoadAllResources checks that --all-resources keeps the networks and
// volumes no service uses (and the default network, as docker compose
// keeps it), which are left out by default.
func TestLoadAllResources(t *testing.T) {
	dir := writeCompat(t, "")
	for _, all := range []bool{false, true} {
		p, err := Load(context.Background(), Options{ProjectDir: dir, Files: []string{filepath.Join(dir, "compose.yaml")}, AllResources: all, Services: []string{"web"}})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		var nets, vols []string
		for k := range p.Networks {
			nets = append(nets, k)
		}
		for k := range p.Volumes {
			vols = append(vols, k)
		}
		sort.Strings(nets)
		sort.Strings(vols)
		wantNets, wantVols := []string{"front"}, []string{"data"}
		if all {
			wantNets, wantVols = []string{"back", "default", "front", "spare"}, []string{"data", "unused"}
		}
		if !slices.Equal(nets, wantNets) || !slices.Equal(vols, wantVols) {
			t.Errorf("AllResources=%v: networks %v, volumes %v; want %v, %v", all, nets, vols, wantNets, wantVols)
		}
	}
}
