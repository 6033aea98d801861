package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDefaultPlatform: DOCKER_DEFAULT_PLATFORM (from the environment or
// .env) is the platform of the services that name none, as in docker
// compose; a build.platforms list must hold it.
func TestDefaultPlatform(t *testing.T) {
	tests := []struct {
		name, service, environ, dotenv string
		want, wantErr                  string
	}{
		{"none", "{image: busybox}", "", "", "", ""},
		{"from the environment", "{image: busybox}", "linux/arm64", "", "linux/arm64", ""},
		{"from .env", "{image: busybox}", "", "DOCKER_DEFAULT_PLATFORM=linux/arm/v7\n", "linux/arm/v7", ""},
		{"platform: wins", "{image: busybox, platform: linux/amd64}", "linux/arm64", "", "linux/amd64", ""},
		{"in build.platforms", "{build: {context: ., platforms: [linux/amd64, linux/arm64]}}", "linux/arm64", "", "linux/arm64", ""},
		{"not in build.platforms", "{build: {context: ., platforms: [linux/amd64]}}", "linux/arm64", "",
			"", `service "a": build.platforms does not support value set by DOCKER_DEFAULT_PLATFORM: linux/arm64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "compose.yaml")
			if err := os.WriteFile(file, []byte("name: x\nservices:\n  a: "+tt.service+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.dotenv != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.dotenv), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var environ []string
			if tt.environ != "" {
				environ = []string{"DOCKER_DEFAULT_PLATFORM=" + tt.environ}
			}
			p, err := Load(context.Background(), Options{Files: []string{file}, Environ: environ})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Service("a").Platform; got != tt.want {
				t.Errorf("platform = %q, want %q", got, tt.want)
			}
		})
	}
}
