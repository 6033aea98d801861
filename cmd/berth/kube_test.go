package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKubeBadInput: each bad input on a cluster is one clear line, and
// nothing is tried on this machine instead.
func TestKubeBadInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"" + closed + "\"}\n" +
		"users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: here\n  context: {cluster: c, user: u}\ncurrent-context: here\n"
	if err := os.WriteFile(cfg, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope")
	project := []string{"-p", "demo", "--project-directory", dir}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing kubeconfig", []string{"--kubeconfig", missing, "ps"}, "kubeconfig " + missing + ": no such file"},
		{"unknown context", []string{"--kubeconfig", cfg, "--context", "prod", "logs"}, `kubeconfig context "prod" not found`},
		{"unreachable cluster", []string{"--kubeconfig", cfg, "down"}, "cluster " + closed + " does not answer"},
		{"unreachable cluster, wait", []string{"--kubeconfig", cfg, "wait", "web"}, "cluster " + closed + " does not answer"},
		{"a local-only command", []string{"--kube", "exec", "web", "sh"}, "berth exec does not act on a cluster"},
		{"up with services", []string{"--kubeconfig", cfg, "up", "-d", "web"}, "berth up web on a cluster"},
		{"up --registry with a scheme", []string{"--kubeconfig", cfg, "up", "-d", "--registry", "http://127.0.0.1:5000"}, "without a scheme or a tag"},
		{"up --registry on this machine", []string{"up", "-d", "--registry", "127.0.0.1:5000"}, "--registry is for up on a cluster (--kubeconfig)"},
		{"logs --since", []string{"--kubeconfig", cfg, "logs", "--since", "1m"}, "do not act on a cluster"},
		{"ps --format template", []string{"--kubeconfig", cfg, "ps", "--format", "{{.Name}}"}, "use table or json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, project...), tc.args...)
			cmd := newRootCmdWith(&globalOptions{})
			cmd.SetArgs(args)
			var out strings.Builder
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("berth %v = %v, want one line with %q", args, err, tc.want)
			}
		})
	}
}

// TestKubeconfigEnvAloneIsLocal: $KUBECONFIG alone does not send the
// project commands to a cluster; --kube does.
func TestKubeconfigEnvAloneIsLocal(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "config"))
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"version"}, false},
		{[]string{"--kube", "version"}, true},
		{[]string{"--context", "c", "version"}, true},
	} {
		opts := &globalOptions{}
		cmd := newRootCmdWith(opts)
		cmd.SetArgs(tc.args)
		var out strings.Builder
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("berth %v: %v", tc.args, err)
		}
		if got := opts.kube.Enabled(); got != tc.want {
			t.Errorf("berth %v: on a cluster = %v, want %v", tc.args, got, tc.want)
		}
	}
}
