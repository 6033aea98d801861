package kube

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDialErrors(t *testing.T) {
	// A loopback port that nothing listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := writeKubeconfig(t, dir, `{server: "`+closed+`", insecure-skip-tls-verify: true}`)
	for _, tc := range []struct {
		name string
		k    Kubeconfig
		want []string
	}{
		{"missing file", Kubeconfig{Path: filepath.Join(dir, "nope")}, []string{"kubeconfig " + filepath.Join(dir, "nope") + ": no such file", "--kube"}},
		{"unknown context", Kubeconfig{Path: cfg, Context: "prod"}, []string{`kubeconfig context "prod" not found`}},
		{"unreachable", Kubeconfig{Path: cfg}, []string{"cluster " + closed + " does not answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Dial(context.Background(), tc.k)
			if err == nil {
				t.Fatalf("Dial(%+v) = nil error", tc.k)
			}
			if strings.Contains(err.Error(), "\n") || !containsAll(err.Error(), tc.want...) {
				t.Errorf("Dial(%+v) = %q, want one line with %q", tc.k, err, tc.want)
			}
		})
	}
}

func TestKubeconfigEnabled(t *testing.T) {
	for _, tc := range []struct {
		k    Kubeconfig
		want bool
	}{
		{Kubeconfig{}, false},
		{Kubeconfig{Path: "x"}, true},
		{Kubeconfig{Default: true}, true},
		{Kubeconfig{Context: "c"}, true},
	} {
		if got := tc.k.Enabled(); got != tc.want {
			t.Errorf("%+v.Enabled() = %v, want %v", tc.k, got, tc.want)
		}
	}
}

// writeKubeconfig writes dir/config: one context, "here", current, on a
// cluster of the given YAML flow mapping ({server: ...}) with a token user.
func writeKubeconfig(t *testing.T, dir, cluster string) string {
	t.Helper()
	cfg := filepath.Join(dir, "config")
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: ` + cluster + `
users:
- name: u
  user: {token: t}
contexts:
- name: here
  context: {cluster: c, user: u}
current-context: here
`
	if err := os.WriteFile(cfg, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}
