package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
