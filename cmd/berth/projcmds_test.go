package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// berthOutput runs berth's command line in-process and returns its
// standard output, its standard error and its error.
func berthOutput(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestUnknownCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string // the error, "" for none
	}{
		{[]string{"upp"}, `unknown command "upp" for "berth"; did you mean: up, `},
		{[]string{"-p", "demo", "frobnicate", "x"}, `unknown command "frobnicate" for "berth" (berth --help lists the commands)`},
		{[]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _, err := berthOutput(t, tt.args...)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("berth %v = %v, want the help", tt.args, err)
			case tt.want == "" && !strings.Contains(out, "Usage:"):
				t.Errorf("berth %v printed %q, want the help", tt.args, out)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n")):
				t.Errorf("berth %v = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestPauseUnknown checks that pause and unpause of services the file
// does not have succeed with a warning, as docker compose's do, without
// touching containerd (this test runs without root).
func TestPauseUnknown(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  a:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"pause", "unpause"} {
		t.Run(verb, func(t *testing.T) {
			_, stderr, err := berthOutput(t, "-f", file, "-p", "demo", verb, "nope", "gone")
			if err != nil {
				t.Fatalf("berth %s nope gone = %v, want success", verb, err)
			}
			for _, s := range []string{"nope", "gone"} {
				want := "WARN: no such service: " + s + ": project demo has nothing to " + verb + " there\n"
				if !strings.Contains(stderr, want) {
					t.Errorf("berth %s: standard error %q lacks %q", verb, stderr, want)
				}
			}
		})
	}
}

func TestDownRmiValue(t *testing.T) {
	_, _, err := berthOutput(t, "-p", "demo", "down", "--rmi", "none")
	if err == nil || !strings.Contains(err.Error(), `--rmi "none": use local`) {
		t.Errorf("down --rmi none = %v, want the values it takes", err)
	}
}
