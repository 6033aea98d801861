package kube

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// selectCompose: db (a named volume: a StatefulSet) that web waits to be
// healthy; web with an alias, a published port, a secret and a config;
// worker waits for migrate (a Job) to complete; lone shares web's secret
// and has its own. The warnings: worker's restart, lone's depends_on, and
// two of the project's networks.
const selectCompose = `name: demo
services:
  db:
    image: busybox
    restart: always
    networks: [back]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "true"]
  web:
    image: busybox
    restart: always
    environment: {MODE: web}
    depends_on:
      db: {condition: service_healthy}
    networks:
      default:
        aliases: [www]
      back: {}
    ports: ["30080:80"]
    secrets: [token]
    configs: [site]
  migrate:
    image: busybox
    restart: "no"
  worker:
    image: busybox
    restart: on-failure
    depends_on:
      migrate: {condition: service_completed_successfully}
  lone:
    image: busybox
    restart: always
    secrets: [token, own]
    depends_on:
      worker: {condition: service_started, restart: true}
networks:
  back: {internal: true}
volumes:
  data: {}
secrets:
  token: {file: ./token}
  own: {file: ./own}
configs:
  site: {content: "hello"}
`

// TestForServices: up SERVICE... applies the Namespace, the objects of the
// services given and the shared objects their pods use, exactly as the
// whole project's conversion made them; nothing of another service.
func TestForServices(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"compose.yaml": selectCompose, "token": "t0k3n", "own": "mine"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Convert(load(t, dir), ConvertOptions{})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	names := func(m *Manifests) []string {
		var out []string
		for _, o := range m.Objects {
			out = append(out, o.GetKind()+"/"+o.GetName())
		}
		return out
	}
	const ns = "Namespace/demo"
	project := []string{`network "back" is internal`, `networks back, default are one pod network`}
	for _, tc := range []struct {
		services []string
		want     []string
		warnings []string // substrings, one per warning kept besides the project's
	}{
		{[]string{"db"}, []string{ns, "Service/db", "Service/db-ready", "StatefulSet/db"}, nil},
		{[]string{"web"}, []string{ns, "Secret/secret-token", "ConfigMap/config-site", "ConfigMap/web-env",
			"Service/web", "Service/web-published", "Service/www", "Deployment/web"}, nil},
		{[]string{"db", "web"}, []string{ns, "Secret/secret-token", "ConfigMap/config-site", "ConfigMap/web-env",
			"Service/db", "Service/db-ready", "Service/web", "Service/web-published", "Service/www", "StatefulSet/db", "Deployment/web"}, nil},
		{[]string{"worker"}, []string{ns, "ServiceAccount/berth-job-waiter", "Role/berth-job-waiter", "RoleBinding/berth-job-waiter",
			"Service/worker", "Deployment/worker"}, []string{`service "worker": restart on-failure`}},
		{[]string{"migrate"}, []string{ns, "Service/migrate", "Job/migrate"}, nil},
		{[]string{"lone"}, []string{ns, "Secret/secret-own", "Secret/secret-token", "Service/lone", "Deployment/lone"},
			[]string{`service "lone": depends_on worker restart: true`, `service "lone": depends_on worker (service_started)`}},
		{[]string{}, []string{ns}, nil},
	} {
		t.Run(strings.Join(tc.services, ","), func(t *testing.T) {
			got := m.ForServices(tc.services)
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("ForServices(%q) = %q, want %q", tc.services, names(got), tc.want)
			}
			if got.Namespace != m.Namespace {
				t.Errorf("ForServices(%q).Namespace = %q, want %q", tc.services, got.Namespace, m.Namespace)
			}
			for _, o := range got.Objects {
				if !slices.Contains(m.Objects, o) {
					t.Errorf("ForServices(%q): %s/%s is not an object of the whole conversion", tc.services, o.GetKind(), o.GetName())
				}
			}
			want := append(slices.Clone(project), tc.warnings...)
			if len(got.Warnings) != len(want) {
				t.Fatalf("ForServices(%q).Warnings = %q, want %d like %q", tc.services, got.Warnings, len(want), want)
			}
			for _, w := range want {
				if !slices.ContainsFunc(got.Warnings, func(g string) bool { return strings.Contains(g, w) }) {
					t.Errorf("ForServices(%q).Warnings = %q, want one with %q", tc.services, got.Warnings, w)
				}
			}
		})
	}
	if all := m.ForServices(nil); all != m {
		t.Errorf("ForServices(nil) = %p, want the whole manifests %p", all, m)
	}
}
