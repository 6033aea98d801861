package containerd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	shimapi "github.com/containerd/containerd/api/runtime/task/v3"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// buildShimWrapper compiles shimwrap/shim.c as the Makefile does, with
// runcRoot as runc's root, into a directory of its own.
func buildShimWrapper(t *testing.T, runcRoot string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc): the shim wrapper's tests need one (apt-get install gcc libc6-dev)")
	}
	out := filepath.Join(t.TempDir(), ShimWrapperName)
	args := []string{"-Os", "-Wall", "-Wextra", "-Werror", `-DRUNC_ROOT="` + runcRoot + `"`, "-o", out, filepath.Join("..", "shimwrap", "shim.c")}
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v: %s", err, b)
	}
	return out
}

// fakeRealShim puts a containerd-shim-runc-v2 in a directory of its own
// that writes its arguments, one a line, and what it read on standard
// input to record, and prints "real shim"; it returns the directory.
func fakeRealShim(t *testing.T, record string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > " + record + "\n/bin/cat >> " + record + "\necho real shim\n"
	if err := os.WriteFile(filepath.Join(dir, "containerd-shim-runc-v2"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestShimWrapper(t *testing.T) {
	const ns, id = "berth", "proj-web-1"
	type bundle struct {
		options, runtime *string // nil: no file
		runcState        bool    // runc still has the container's state
		otherCwd         bool    // run in a directory not named id
		mounted          bool    // its rootfs is still mounted (root only)
	}
	str := func(s string) *string { return &s }
	deleteArgs := []string{"-namespace", ns, "-address", "/run/x.sock", "-publish-binary", "/bin/containerd", "-id", id, "delete"}
	tests := []struct {
		name   string
		bundle bundle
		args   []string
		// wantReal: containerd's shim runs, with the same arguments;
		// else the wrapper answers alone.
		wantReal bool
	}{
		{name: "task gone, default options", bundle: bundle{options: str("{}")}, args: deleteArgs},
		{name: "task gone, no options file", bundle: bundle{}, args: deleteArgs},
		{name: "task gone, options with white space, flags with =", bundle: bundle{options: str(" { }\n"), runtime: str("")},
			args: []string{"--namespace=" + ns, "-debug", "-id=" + id, "delete"}},
		{name: "runc still has the task", bundle: bundle{options: str("{}"), runcState: true}, args: deleteArgs, wantReal: true},
		{name: "rootfs still mounted", bundle: bundle{options: str("{}"), mounted: true}, args: deleteArgs, wantReal: true},
		{name: "task gone, runc root of a private run directory", bundle: bundle{options: str(`{"root":"ROOT"}`)}, args: deleteArgs},
		{name: "runc root of a private run directory has the task", bundle: bundle{options: str(`{"root":"ROOT"}`), runcState: true}, args: deleteArgs, wantReal: true},
		{name: "options other than a root", bundle: bundle{options: str(`{"root":"ROOT","systemd_cgroup":true}`)}, args: deleteArgs, wantReal: true},
		{name: "relative runc root", bundle: bundle{options: str(`{"root":"run/runc"}`)}, args: deleteArgs, wantReal: true},
		{name: "another runc", bundle: bundle{options: str("{}"), runtime: str("/usr/bin/crun")}, args: deleteArgs, wantReal: true},
		{name: "task gone, bundle named as containerd does", bundle: bundle{options: str("{}")}, args: append(deleteArgs[:len(deleteArgs)-1:len(deleteArgs)-1], "-bundle", ".", "delete")},
		{name: "bundle elsewhere", bundle: bundle{}, args: []string{"-namespace", ns, "-id", id, "-bundle", "/", "delete"}, wantReal: true},
		{name: "not the task's bundle", bundle: bundle{otherCwd: true}, args: deleteArgs, wantReal: true},
		{name: "start", bundle: bundle{}, args: []string{"-namespace", ns, "-address", "/run/x.sock", "-publish-binary", "/bin/containerd", "-id", id, "start"}, wantReal: true},
		{name: "info", bundle: bundle{}, args: []string{"-info"}, wantReal: true},
		{name: "id with a slash", bundle: bundle{}, args: []string{"-namespace", ns, "-id", "../" + id, "delete"}, wantReal: true},
		{name: "no namespace", bundle: bundle{}, args: []string{"-id", id, "delete"}, wantReal: true},
		{name: "two actions", bundle: bundle{}, args: append(append([]string{}, deleteArgs...), "extra"), wantReal: true},
	}
	runcRoot, privateRoot := t.TempDir(), t.TempDir()
	wrapper := buildShimWrapper(t, runcRoot)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			record := filepath.Join(t.TempDir(), "record")
			realDir := fakeRealShim(t, record)
			dir := filepath.Join(t.TempDir(), id)
			if tt.bundle.otherCwd {
				dir = filepath.Join(t.TempDir(), "other")
			}
			if err := os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "init.pid"), []byte("4242"), 0o644); err != nil {
				t.Fatal(err)
			}
			for name, content := range map[string]*string{"options.json": tt.bundle.options, "runtime": tt.bundle.runtime} {
				if content != nil {
					// ROOT is the root of the runc state of the test.
					if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(*content, "ROOT", privateRoot)), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tt.bundle.mounted {
				rootfs := filepath.Join(dir, "rootfs")
				if err := unix.Mount("tmpfs", rootfs, "tmpfs", 0, ""); err != nil {
					t.Skipf("mount a tmpfs (needs root): %v", err)
				}
				t.Cleanup(func() { unix.Unmount(rootfs, unix.MNT_DETACH) }) //nolint:errcheck // a temporary directory's mount
			}
			// runc's state is under the root the options name, or its
			// default one (the root the wrapper was built with).
			root := runcRoot
			if tt.bundle.options != nil && strings.Contains(*tt.bundle.options, "ROOT") {
				root = privateRoot
			}
			state := filepath.Join(root, ns, id)
			os.RemoveAll(state)
			if tt.bundle.runcState {
				if err := os.MkdirAll(state, 0o700); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(state) })
			}
			cmd := exec.Command(wrapper, tt.args...)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + realDir}
			cmd.Stdin = strings.NewReader("bootstrap")
			before := time.Now()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("berth-shim %v: %v", tt.args, err)
			}
			if tt.wantReal {
				if string(out) != "real shim\n" {
					t.Fatalf("output %q, want containerd's shim's", out)
				}
				got, err := os.ReadFile(record)
				if err != nil {
					t.Fatal(err)
				}
				if want := strings.Join(tt.args, "\n") + "\nbootstrap"; string(got) != want {
					t.Errorf("containerd's shim got\n%s\nwant\n%s", got, want)
				}
				return
			}
			if _, err := os.Stat(record); err == nil {
				t.Fatal("containerd's shim ran, want the wrapper to answer alone")
			}
			var resp shimapi.DeleteResponse
			if err := proto.Unmarshal(out, &resp); err != nil {
				t.Fatalf("output %x is no DeleteResponse: %v", out, err)
			}
			if resp.Pid != 4242 || resp.ExitStatus != 137 {
				t.Errorf("pid %d, exit status %d, want 4242, 137", resp.Pid, resp.ExitStatus)
			}
			if at := resp.ExitedAt.AsTime(); at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("exited at %v, want now (%v)", at, before)
			}
		})
	}
}

func TestResolveShimWrapper(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "berth")
	beside := filepath.Join(dir, ShimWrapperName)
	other := filepath.Join(t.TempDir(), "wrapper")
	notExec := filepath.Join(t.TempDir(), "plain")
	for path, mode := range map[string]os.FileMode{beside: 0o755, other: 0o755, notExec: 0o644} {
		if err := os.WriteFile(path, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		opt, exe string
		want     string
		wantErr  string
	}{
		{opt: "", exe: exe, want: beside},
		{opt: "", exe: filepath.Join(t.TempDir(), "berth"), want: ""},
		{opt: "none", exe: exe, want: ""},
		{opt: other, exe: exe, want: other},
		{opt: "relative/berth-shim", exe: exe, wantErr: "absolute path"},
		{opt: notExec, exe: exe, wantErr: "not an executable"},
		{opt: "/nonexistent/berth-shim", exe: exe, wantErr: "/nonexistent/berth-shim"},
	}
	for _, tt := range tests {
		got, err := resolveShimWrapper(tt.opt, tt.exe)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolveShimWrapper(%q) = %q, %v; want an error with %q", tt.opt, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolveShimWrapper(%q, %q) = %q, %v; want %q", tt.opt, tt.exe, got, err, tt.want)
		}
	}
}
