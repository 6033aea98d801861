package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publishSpec writes files to a directory and loads its compose.yaml as
// publish does (every profile, env files kept).
func publishSpec(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPublishFiles(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		opts    PublishOptions
		want    []string // names of the files published, env files marked "env:"
		wantErr string
	}{
		{"plain", map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n"}, PublishOptions{}, []string{"compose.yaml"}, ""},
		{"build only", map[string]string{"compose.yaml": "services:\n  a:\n    build: .\n  b:\n    build: .\n"}, PublishOptions{WithEnv: true, Yes: true}, nil,
			`only contains a build section for service(s): "a", "b"; give these services an image:`},
		{"environment", map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    environment: [K=v]\n"}, PublishOptions{}, nil,
			"service \"a\" has environment variable(s) declared.\nTo avoid leaking sensitive data, you must either explicitly allow"},
		{"environment with env, not confirmed", map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    environment: [K=v]\n"}, PublishOptions{WithEnv: true}, nil,
			"environment variables within your OCI artifact (a: K)"},
		{"env file of a service in a profile", map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    profiles: [p]\n    env_file: [{path: ./e/a.env}]\n", "e/a.env": "K=v\n"},
			PublishOptions{WithEnv: true, Yes: true}, []string{"compose.yaml", "env:"}, ""},
		{"env file refused", map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    env_file: a.env\n", "a.env": "K=v\n"}, PublishOptions{}, nil,
			"service \"a\" has env_file declared.\nservice \"a\" has environment variable(s) declared."},
		{"bind mount", map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    volumes: [./d:/d]\n"}, PublishOptions{}, nil, "bind mounts declaration"},
		{"bind mount confirmed", map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    volumes: [./d:/d]\n"}, PublishOptions{Yes: true}, []string{"compose.yaml"}, ""},
		{"include", map[string]string{"compose.yaml": "include: [other.yaml]\nservices:\n  a:\n    image: x\n", "other.yaml": "services:\n  b:\n    image: y\n"}, PublishOptions{}, nil,
			"cannot publish compose file with local includes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := publishSpec(t, tt.files)
			spec, err := LoadSpec(context.Background(), Options{
				Files: []string{filepath.Join(dir, "compose.yaml")}, ProjectName: "demo", Profiles: []string{"*"}, KeepEnvFiles: true,
			})
			if err != nil {
				t.Fatalf("LoadSpec: %v", err)
			}
			got, err := PublishFiles(spec, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PublishFiles = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PublishFiles = %v", err)
			}
			var names []string
			for _, f := range got {
				if f.Env {
					names = append(names, "env:")
					if !strings.HasSuffix(f.Name, ".env") || string(f.Data) != "K=v\n" {
						t.Errorf("env file %s: %q", f.Name, f.Data)
					}
					continue
				}
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("PublishFiles published %v, want %v", names, tt.want)
			}
		})
	}
}

// fakeArtifacts is an ArtifactFetcher serving one artifact.
type fakeArtifacts struct {
	digest string
	files  []PublishedFile
	err    error
	calls  int
}

func (f *fakeArtifacts) FetchCompose(_ context.Context, ref string) (string, []PublishedFile, error) {
	f.calls++
	return f.digest, f.files, f.err
}

// TestLoadFromArtifact: -f oci:// loads the artifact's compose files
// (joined as documents, the later overriding) and its env file, caches
// them by digest, and refuses env file names that leave the directory.
func TestLoadFromArtifact(t *testing.T) {
	cache := t.TempDir()
	fake := &fakeArtifacts{digest: "sha256:abc", files: []PublishedFile{
		{Name: "compose.yaml", Data: []byte("services:\n  app:\n    image: busybox\n    environment: {A: one}\n")},
		{Name: "override.yaml", Data: []byte("services:\n  app:\n    env_file: 1234.env\n")},
		{Env: true, Name: "1234.env", Data: []byte("B=two\n")},
	}}
	opts := Options{Files: []string{"oci://127.0.0.1:5000/demo:1"}, ProjectName: "demo", Artifacts: fake, ArtifactCache: cache, Environ: []string{}}
	p, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	env := p.Service("app").Environment
	if env["A"] == nil || *env["A"] != "one" || env["B"] == nil || *env["B"] != "two" {
		t.Errorf("environment = %v, want A=one B=two", env)
	}
	if _, err := os.Stat(filepath.Join(cache, "abc", "compose.yaml")); err != nil {
		t.Errorf("not cached: %v", err)
	}

	for _, name := range []string{"../evil.env", "a/b.env", ".."} {
		bad := &fakeArtifacts{digest: "sha256:bad" + strings.NewReplacer(".", "", "/", "").Replace(name), files: []PublishedFile{
			{Name: "compose.yaml", Data: []byte("services:\n  app:\n    image: busybox\n")}, {Env: true, Name: name, Data: []byte("X=1\n")},
		}}
		opts.Artifacts = bad
		if _, err := Load(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "invalid OCI artifact") {
			t.Errorf("Load of an env file named %q = %v, want invalid OCI artifact", name, err)
		}
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries after refused artifacts, want 1", len(entries))
	}

	opts.Artifacts = &fakeArtifacts{err: errors.New("registry down")}
	if _, err := Load(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "registry down") {
		t.Errorf("Load with a failing registry = %v", err)
	}
}
