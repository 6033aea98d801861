package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestUpFlagErrors checks the flags up refuses before it connects to
// containerd or starts anything.
func TestUpFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  a:\n    image: busybox\n  b:\n    image: busybox\n    depends_on: [a]\n  c:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exit-code-from with -d", []string{"up", "-d", "--exit-code-from", "a"}, "attached mode: drop -d/--wait"},
		{"exit-code-from with --wait", []string{"up", "--wait", "--exit-code-from", "a"}, "attached mode: drop -d/--wait"},
		{"abort with --wait", []string{"up", "--wait", "--abort-on-container-exit"}, "attached mode: drop -d/--wait"},
		{"exit-code-from unknown", []string{"up", "--exit-code-from", "nope"}, "--exit-code-from nope: no such service (the project's services: a, b, c)"},
		{"exit-code-from not started", []string{"up", "--exit-code-from", "c", "b"}, `--exit-code-from c: up does not start service "c" (it starts a, b)`},
		{"exit-code-from not started, no-deps", []string{"up", "--no-deps", "--exit-code-from", "a", "b"}, `up does not start service "a" (it starts b)`},
		{"attach unknown", []string{"up", "--attach", "a", "--attach", "nope"}, "--attach nope: no such service"},
		{"no-attach unknown", []string{"up", "--no-attach", "nope"}, "--no-attach nope: no such service"},
		{"attach-dependencies with -d", []string{"up", "-d", "--attach-dependencies"}, "attached mode: drop -d/--wait"},
		{"attach-dependencies with --attach", []string{"up", "--attach", "a", "--attach-dependencies"}, "cannot combine --attach and --attach-dependencies"},
		{"renew-anon-volumes with no-recreate", []string{"up", "-V", "--no-recreate"}, "--no-recreate and --renew-anon-volumes are incompatible"},
		{"always-recreate-deps with no-recreate", []string{"up", "--always-recreate-deps", "--no-recreate"}, "--always-recreate-deps and --no-recreate are incompatible"},
		{"force-recreate with no-recreate", []string{"up", "--force-recreate", "--no-recreate"}, "--force-recreate and --no-recreate are incompatible"},
		{"bad pull", []string{"up", "--pull", "sometimes"}, `invalid --pull option "sometimes"`},
		{"bad ansi", []string{"--ansi", "rainbow", "up"}, `--ansi "rainbow": use never, always or auto`},
		{"tty progress without ansi", []string{"--ansi", "never", "up", "--progress", "tty"}, "can't use --progress tty while ANSI support is disabled"},
		{"plain progress with forced ansi", []string{"--ansi", "always", "--progress", "plain", "up"}, "can't use --progress plain while ANSI support is forced"},
		{"bad progress after the subcommand", []string{"up", "--progress", "fancy"}, `--progress "fancy": use auto, tty, plain, json or quiet`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := berth(t, append([]string{"-f", file, "-p", "demo"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("berth %s = %v, want an error containing %q", strings.Join(tt.args, " "), err, tt.want)
			}
		})
	}
}

// TestUpExitCodeFromImpliesAbort: as docker compose, --exit-code-from
// ends attached up at the first exit (abort on container exit), unless
// --abort-on-container-failure asks for failures only.
func TestUpExitCodeFromImpliesAbort(t *testing.T) {
	tests := []struct {
		name                 string
		opts                 upOptions
		wantExit, wantOnFail bool
	}{
		{"exit-code-from", upOptions{exitCodeFrom: "a"}, true, false},
		{"exit-code-from, abort on failure", upOptions{exitCodeFrom: "a", abortOnFailure: true}, false, true},
		{"neither", upOptions{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if err := checkUpFlags(&opts); err != nil {
				t.Fatal(err)
			}
			if opts.abortOnExit != tt.wantExit || opts.abortOnFailure != tt.wantOnFail {
				t.Errorf("abortOnExit=%v abortOnFailure=%v, want %v %v", opts.abortOnExit, opts.abortOnFailure, tt.wantExit, tt.wantOnFail)
			}
		})
	}
}

// TestHiddenCommandsIgnoreOutputEnv checks that berth's own helpers run
// whatever COMPOSE_ANSI and COMPOSE_PROGRESS say, while user commands
// refuse a bad value.
func TestHiddenCommandsIgnoreOutputEnv(t *testing.T) {
	t.Setenv("COMPOSE_ANSI", "bogus")
	cmd := newRootCmd()
	var hidden *cobra.Command
	for _, c := range cmd.Commands() {
		if c.Hidden {
			hidden = c
		}
	}
	if hidden == nil {
		t.Fatal("no hidden command")
	}
	o := &globalOptions{ansi: "auto", progress: "auto"}
	if err := o.resolveOutput(hidden); err != nil {
		t.Errorf("resolveOutput(%s) = %v, want nil", hidden.Name(), err)
	}
	if _, err := berth(t, "version"); err == nil || !strings.Contains(err.Error(), `COMPOSE_ANSI "bogus"`) {
		t.Errorf("berth version with COMPOSE_ANSI=bogus = %v, want a refusal naming the value", err)
	}
}

// TestGlobalOutputFlags checks where --progress, --ansi and the other
// global flags are read, and what they decide, without containerd.
func TestGlobalOutputFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		progress string
		ansi     string
		live     bool // on a terminal
		color    bool // to a terminal
		compat   bool
		all      bool
	}{
		{name: "defaults", args: []string{"version"}, progress: "auto", ansi: "auto", live: true, color: true},
		{name: "progress at the root", args: []string{"--progress", "plain", "version"}, progress: "plain", ansi: "auto"},
		{name: "progress after the subcommand", args: []string{"version", "--progress", "json"}, progress: "json", ansi: "auto"},
		{name: "COMPOSE_PROGRESS", args: []string{"version"}, env: map[string]string{"COMPOSE_PROGRESS": "quiet"}, progress: "quiet", ansi: "auto"},
		{name: "flag over COMPOSE_PROGRESS", args: []string{"version", "--progress", "tty"}, env: map[string]string{"COMPOSE_PROGRESS": "quiet"}, progress: "tty", ansi: "auto", live: true, color: true},
		{name: "ansi never", args: []string{"--ansi", "never", "version"}, progress: "auto", ansi: "never"},
		{name: "COMPOSE_ANSI", args: []string{"version"}, env: map[string]string{"COMPOSE_ANSI": "never"}, progress: "auto", ansi: "never"},
		{name: "flag over COMPOSE_ANSI", args: []string{"--ansi", "always", "version"}, env: map[string]string{"COMPOSE_ANSI": "never"}, progress: "auto", ansi: "always", live: true, color: true},
		{name: "NO_COLOR", args: []string{"--ansi", "always", "version"}, env: map[string]string{"NO_COLOR": "1"}, progress: "auto", ansi: "always", live: true},
		{name: "compatibility and all-resources", args: []string{"--compatibility", "--all-resources", "--verbose", "version"}, progress: "auto", ansi: "auto", live: true, color: true, compat: true, all: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"COMPOSE_PROGRESS", "COMPOSE_ANSI", "NO_COLOR"} {
				t.Setenv(k, tt.env[k])
				if tt.env[k] == "" {
					os.Unsetenv(k)
				}
			}
			opts := &globalOptions{}
			cmd := newRootCmdWith(opts)
			cmd.SetArgs(tt.args)
			var out strings.Builder
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("berth %v: %v", tt.args, err)
			}
			if opts.progress != tt.progress || opts.ansi != tt.ansi || opts.compatibility != tt.compat || opts.allResources != tt.all {
				t.Errorf("berth %v: progress %q ansi %q compatibility %v all-resources %v; want %q %q %v %v",
					tt.args, opts.progress, opts.ansi, opts.compatibility, opts.allResources, tt.progress, tt.ansi, tt.compat, tt.all)
			}
			if got := opts.liveProgress(true); got != tt.live {
				t.Errorf("berth %v: live progress on a terminal = %v, want %v", tt.args, got, tt.live)
			}
			if got := opts.liveProgress(false); got != (tt.progress == "tty") {
				t.Errorf("berth %v: live progress off a terminal = %v, want %v", tt.args, got, tt.progress == "tty")
			}
			if got := opts.logColor(io.Discard, false); got != (tt.color && tt.ansi == "always") {
				t.Errorf("berth %v: log colour off a terminal = %v, want %v", tt.args, got, tt.color && tt.ansi == "always")
			}
			if got := opts.logColor(io.Discard, true); got {
				t.Errorf("berth %v: log colour with --no-color = %v, want false", tt.args, got)
			}
		})
	}
}

// TestEnvBool reads COMPOSE_* switches as docker compose does.
func TestEnvBool(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "1": true, "y": true, " Y ": true, "TRUE": true, "yes": false, "0": false, "": false, "false": false} {
		if got := envBool(v); got != want {
			t.Errorf("envBool(%q) = %v, want %v", v, got, want)
		}
	}
}
