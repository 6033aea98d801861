package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

// TestConvertKubernetes: convert kubernetes writes YAML to standard output,
// or a directory with -o; convert alone is still config; a service that
// cannot be carried over fails naming it, and -o then writes nothing.
func TestConvertKubernetes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(`name: demo
services:
  web:
    image: nginx:1
    ports: ["8080:80"]
  db:
    image: postgres:17
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data: {}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := berth(t, "-f", file, "convert", "kubernetes", "--namespace", "shop", "--expose", "loadbalancer")
	if err != nil {
		t.Fatalf("convert kubernetes: %v", err)
	}
	for _, want := range []string{"kind: Namespace\nmetadata:", "name: shop\n", "kind: StatefulSet", "kind: Deployment", "type: LoadBalancer", "imagePullPolicy: IfNotPresent"} {
		if !strings.Contains(out, want) {
			t.Errorf("convert kubernetes output lacks %q:\n%s", want, out)
		}
	}
	if out, err := berth(t, "-f", file, "convert", "--services"); err != nil || out != "db\nweb\n" {
		t.Errorf("convert --services = %q, %v; want config's db, web", out, err)
	}

	outDir := filepath.Join(dir, "k8s")
	if _, err := berth(t, "-f", file, "convert", "kubernetes", "-o", outDir); err != nil {
		t.Fatalf("convert kubernetes -o: %v", err)
	}
	for _, name := range []string{"kustomization.yaml", "namespace-demo.yaml", "statefulset-db.yaml", "deployment-web.yaml", "service-web-published.yaml"} {
		if _, err := os.Stat(filepath.Join(outDir, name)); err != nil {
			t.Errorf("convert kubernetes -o: %v", err)
		}
	}

	if err := os.WriteFile(file, []byte("name: demo\nservices:\n  web:\n    image: nginx:1\n    network_mode: host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refusedDir := filepath.Join(dir, "refused")
	_, err = berth(t, "-f", file, "convert", "kubernetes", "-o", refusedDir)
	if err == nil || !strings.Contains(err.Error(), `service "web": network_mode: host`) {
		t.Errorf("convert kubernetes of network_mode: host = %v, want a refusal naming the service and key", err)
	}
	if _, statErr := os.Stat(refusedDir); !os.IsNotExist(statErr) {
		t.Errorf("a refused conversion made %s", refusedDir)
	}
}

// TestConvertKubernetesImages: with --no-push the images of build:
// services are named by tag (REGISTRY/<name without its host>), with a
// warning each; without a registry a service with no image: is refused
// before anything is built, naming the service and the flags to use.
func TestConvertKubernetesImages(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"api", "db"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sub, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(`name: demo
services:
  api:
    build: ./api
  db:
    build: ./db
    image: r.example:5000/team/db:2
  migrate:
    build: ./db
    image: r.example:5000/team/db:2
  cache:
    image: redis:7
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		cmd := newRootCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append([]string{"-f", file, "convert", "kubernetes"}, args...))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), errOut.String(), err
	}

	out, errOut, err := run("--no-push", "--registry", "127.0.0.1:5000")
	if err != nil {
		t.Fatalf("convert kubernetes --no-push: %v", err)
	}
	for _, want := range []string{"image: 127.0.0.1:5000/demo-api\n", "image: 127.0.0.1:5000/team/db:2\n", "image: redis:7\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("convert kubernetes --no-push output lacks %q:\n%s", want, out)
		}
	}
	for _, s := range []string{"api", "db", "migrate"} {
		if want := `warning: service "` + s + `": its image is not built or pushed (--no-push)`; !strings.Contains(errOut, want) {
			t.Errorf("convert kubernetes --no-push warnings lack %q:\n%s", want, errOut)
		}
	}
	// The warnings name the tags the manifests use.
	for _, want := range []string{"(--no-push): the manifests name it by tag, 127.0.0.1:5000/demo-api;", "(--no-push): the manifests name it by tag, 127.0.0.1:5000/team/db:2;"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("convert kubernetes --no-push warnings lack %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, `service "cache": its image`) {
		t.Errorf("convert kubernetes --no-push warns about the pulled cache:\n%s", errOut)
	}

	outDir := filepath.Join(dir, "k8s")
	_, _, err = run("-o", outDir)
	if err == nil || !strings.Contains(err.Error(), `service "api": its image demo-api`) || !strings.Contains(err.Error(), "--registry") || !strings.Contains(err.Error(), "--no-push") {
		t.Errorf("convert kubernetes without a registry = %v, want a refusal naming api, --registry and --no-push", err)
	}
	if _, statErr := os.Stat(outDir); !os.IsNotExist(statErr) {
		t.Errorf("a refused conversion made %s", outDir)
	}
}

func TestCheckRegistry(t *testing.T) {
	for registry, ok := range map[string]bool{
		"": true, "127.0.0.1:5000": true, "127.0.0.1:5000/": true, "ghcr.io/org/team": true, "localhost:5000": true,
		"http://127.0.0.1:5000": false, "r.example:5000/app:1": false, "Registry.Example/UPPER": false, "r.example/a b": false,
	} {
		err := checkRegistry(registry)
		if (err == nil) != ok {
			t.Errorf("checkRegistry(%q) = %v, want ok=%v", registry, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "--registry ") {
			t.Errorf("checkRegistry(%q) = %v, want it to name --registry", registry, err)
		}
	}
}

func TestNoPushWarnings(t *testing.T) {
	s := &compose.Service{Name: "api", Project: "demo", Build: &compose.Build{}}
	for registry, want := range map[string]string{
		"":               `service "api": its image is not built or pushed (--no-push): the manifests name it by tag, demo-api; push it there or import it into the nodes before it runs`,
		"127.0.0.1:5000": `service "api": its image is not built or pushed (--no-push): the manifests name it by tag, 127.0.0.1:5000/demo-api; push it there or import it into the nodes before it runs`,
	} {
		if got := noPushWarnings([]*compose.Service{s}, registry); len(got) != 1 || got[0] != want {
			t.Errorf("noPushWarnings(api, %q) = %q, want %q", registry, got, want)
		}
	}
}
