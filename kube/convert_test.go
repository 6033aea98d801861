package kube

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// load loads the compose file of dir with a fixed environment.
func load(t *testing.T, dir string, environ ...string) *compose.Project {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := compose.Load(context.Background(), compose.Options{
		ProjectDir: abs, Files: []string{filepath.Join(abs, "compose.yaml")}, Environ: environ,
	})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return p
}

// render is what the golden files hold: the warnings as comments, then
// the YAML stream.
func render(t *testing.T, m *Manifests) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, w := range m.Warnings {
		b.WriteString("# warning: " + w + "\n")
	}
	y, err := m.YAML()
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	b.Write(y)
	return b.Bytes()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./kube -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the conversion (go test ./kube -update rewrites it); got:\n%s", path, got)
	}
}

// TestConvertGolden converts examples/edge-stack and the focused fixtures
// under testdata and compares with their golden files; converting twice
// must give the same bytes.
func TestConvertGolden(t *testing.T) {
	tests := []struct {
		name, dir string
		opts      ConvertOptions
		environ   []string
	}{
		{"edge-stack", "../examples/edge-stack", ConvertOptions{}, nil},
		{"edge-stack-registry", "../examples/edge-stack", ConvertOptions{
			Namespace: "edge", Registry: "registry.local:5000/", Expose: ExposeLoadBalancer,
			Images: map[string]string{"api": "registry.local:5000/edge-stack-api@sha256:" + strings.Repeat("ab", 32)},
		}, nil},
		{"names", "testdata/names", ConvertOptions{}, nil},
		{"features", "testdata/features", ConvertOptions{AllowPrivileged: true, WaitImage: "wait:1", JobWaitImage: "kubectl:1", StorageClass: "local-path"}, []string{"API_KEY=k3y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.dir, tt.environ...)
			m, err := Convert(p, tt.opts)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			got := render(t, m)
			again, err := Convert(load(t, tt.dir, tt.environ...), tt.opts)
			if err != nil {
				t.Fatalf("Convert again: %v", err)
			}
			if !bytes.Equal(got, render(t, again)) {
				t.Fatalf("two conversions of the same project differ")
			}
			if y, _ := m.YAML(); decodeStrict(y) != nil {
				t.Errorf("the YAML does not decode into its kinds: %v", decodeStrict(y))
			}
			golden(t, filepath.Join("testdata", tt.name+".golden.yaml"), got)
		})
	}
}

// TestConvertRefuses checks that what cannot be carried over fails the
// conversion with one line per problem naming the service and the key.
func TestConvertRefuses(t *testing.T) {
	tests := []struct {
		name    string
		service string
		opts    ConvertOptions
		want    []string // each a line's substring; none means it converts
	}{
		{"host bind", `volumes: ["/etc:/host-etc:ro"]`, ConvertOptions{}, []string{`service "s": volumes /etc:/host-etc: a host path outside the project`}},
		{"writable project directory", `volumes: ["./data:/data"]`, ConvertOptions{}, []string{`service "s": volumes `, `a writable bind mount of a directory cannot be carried`}},
		{"image mount", `volumes: [{type: image, source: "alpine:3", target: /mnt}]`, ConvertOptions{}, []string{`service "s": volumes alpine:3:/mnt: an image mount`}},
		{"network_mode host", `network_mode: host`, ConvertOptions{}, []string{`service "s": network_mode: host`}},
		{"network_mode service", `network_mode: "service:other"`, ConvertOptions{}, []string{`service "s": network_mode: service:other`}},
		{"devices", `devices: ["/dev/ttyUSB0:/dev/ttyUSB0"]`, ConvertOptions{}, []string{`service "s": devices /dev/ttyUSB0`}},
		{"privileged", `privileged: true`, ConvertOptions{}, []string{`service "s": privileged: true`, `--allow-privileged`}},
		{"privileged allowed", `privileged: true`, ConvertOptions{AllowPrivileged: true}, nil},
		{"pid host", `pid: host`, ConvertOptions{}, []string{`service "s": pid: host`}},
		{"volumes_from", `volumes_from: [other]`, ConvertOptions{}, []string{`service "s": volumes_from other`}},
		{"two at once", "privileged: true\n    network_mode: host", ConvertOptions{}, []string{`network_mode: host`, `privileged: true`}},
		{"bad expose", `restart: always`, ConvertOptions{Expose: "ingress"}, []string{`expose "ingress": use nodeport or loadbalancer`}},
		{"bad namespace", `restart: always`, ConvertOptions{Namespace: "Not_Valid"}, []string{`namespace "Not_Valid"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := "name: refuse\nservices:\n  s:\n    image: busybox\n    " + tt.service + "\n  other:\n    image: busybox\n"
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			m, err := Convert(load(t, dir), tt.opts)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Convert = %v, want it to convert", err)
				}
				return
			}
			if err != nil && m != nil {
				t.Errorf("Convert returned manifests with its error")
			}
			if err == nil {
				t.Fatalf("Convert converted %q, want a refusal", tt.service)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Convert error %q does not say %q", err, w)
				}
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, `service "`) && !strings.HasPrefix(l, "expose") && !strings.HasPrefix(l, "namespace") {
					t.Errorf("refusal line %q does not name the service", l)
				}
			}
		})
	}
}

// TestWriteDir checks the files WriteDir writes: one per object, named
// after it, and a kustomization listing them in apply order.
func TestWriteDir(t *testing.T) {
	m, err := Convert(load(t, "../examples/edge-stack"), ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := m.WriteDir(dir); err != nil {
		t.Fatalf("WriteDir: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(m.Objects)+1 {
		t.Errorf("WriteDir wrote %d files, want %d objects and kustomization.yaml", len(entries), len(m.Objects))
	}
	k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "edge-stack.kustomization.yaml"), k)
	var stream []byte
	for i, obj := range m.Objects {
		b, err := os.ReadFile(filepath.Join(dir, FileName(obj)))
		if err != nil {
			t.Fatalf("object %s/%s: %v", obj.GetKind(), obj.GetName(), err)
		}
		if i > 0 {
			stream = append(stream, "---\n"...)
		}
		stream = append(stream, b...)
	}
	if y, _ := m.YAML(); !bytes.Equal(stream, y) {
		t.Errorf("the files differ from YAML()")
	}
}

// TestWriteDirFailure checks that a WriteDir that fails half-way leaves
// nothing behind.
func TestWriteDirFailure(t *testing.T) {
	m, err := Convert(load(t, "../examples/edge-stack"), ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	// A directory where the kustomization goes makes the last write fail.
	if err := os.MkdirAll(filepath.Join(dir, "kustomization.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteDir(dir); err == nil {
		t.Fatal("WriteDir succeeded over a directory named kustomization.yaml")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("WriteDir left %d entries after failing, want only the directory that was there", len(entries))
	}
}

// TestWriteDirRemovesStale: a conversion into a directory an earlier one
// wrote removes the files of objects that are gone, and nothing else; a
// kustomization that berth did not write makes it remove nothing.
func TestWriteDirRemovesStale(t *testing.T) {
	m, err := Convert(load(t, "../examples/edge-stack"), ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fewer := &Manifests{Namespace: m.Namespace, Objects: m.Objects[:len(m.Objects)-2]}
	gone := []string{FileName(m.Objects[len(m.Objects)-1]), FileName(m.Objects[len(m.Objects)-2])}
	for _, tc := range []struct {
		name        string
		foreignKust bool
		wantGone    bool
	}{
		{name: "berth's kustomization", wantGone: true},
		{name: "someone else's kustomization", foreignKust: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := m.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			mine := filepath.Join(dir, "mine.yaml")
			if err := os.WriteFile(mine, []byte("kind: Mine\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.foreignKust {
				k := bytes.TrimPrefix(m.Kustomization(), []byte(kustomizationHeader))
				if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), k, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := fewer.WriteDir(dir); err != nil {
				t.Fatalf("second WriteDir: %v", err)
			}
			for _, f := range gone {
				_, err := os.Stat(filepath.Join(dir, f))
				if removed := errors.Is(err, os.ErrNotExist); removed != tc.wantGone {
					t.Errorf("%s removed = %v, want %v", f, removed, tc.wantGone)
				}
			}
			if _, err := os.Stat(mine); err != nil {
				t.Errorf("a file berth did not write was touched: %v", err)
			}
			for _, obj := range fewer.Objects {
				if _, err := os.Stat(filepath.Join(dir, FileName(obj))); err != nil {
					t.Errorf("current object's file: %v", err)
				}
			}
		})
	}
}
