package containerd

import (
	"bytes"
	"context"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/version"
	"golang.org/x/sys/unix"
)

// daemon is berth's managed containerd: its own root, state and socket
// beside any other containerd, started once and left running for later
// commands.
type daemon struct {
	dataDir, runDir string
	// binDir holds containerd and containerd-shim-runc-v2; "" means findDaemon.
	binDir  string
	timeout time.Duration
}

func (d daemon) root() string    { return filepath.Join(d.dataDir, "containerd") }
func (d daemon) state() string   { return filepath.Join(d.runDir, "containerd") }
func (d daemon) address() string { return filepath.Join(d.state(), "containerd.sock") }
func (d daemon) logFile() string { return filepath.Join(d.root(), "containerd.log") }
func (d daemon) config() string  { return filepath.Join(d.root(), "config.toml") }
func (d daemon) pidFile() string { return filepath.Join(d.state(), "containerd.pid") }

// ensure returns the address of the managed daemon, starting it unless it
// already answers. A file lock keeps concurrent berth processes from
// starting two.
func (d daemon) ensure(ctx context.Context) (string, error) {
	if answers(d.address()) {
		return d.address(), nil
	}
	for _, dir := range []string{d.root(), d.state()} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return "", fmt.Errorf("managed containerd: %w", err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(d.runDir, "containerd.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("managed containerd: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return "", fmt.Errorf("managed containerd: lock: %w", err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN) //nolint:errcheck // released on close anyway
	if answers(d.address()) {                      // another berth started it while we waited
		return d.address(), nil
	}

	binDir, err := findDaemon(d.binDir)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(d.config(), []byte(d.configTOML()), 0o600); err != nil {
		return "", fmt.Errorf("managed containerd: write config: %w", err)
	}
	logf, err := os.OpenFile(d.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("managed containerd: %w", err)
	}
	defer logf.Close()
	os.Remove(d.address()) // a stale socket of a daemon that died

	cmd := exec.Command(filepath.Join(binDir, "containerd"), "--config", d.config())
	cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH")+":/usr/local/sbin:/usr/sbin:/sbin")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	// Its own session, so that it outlives this berth and its terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start managed containerd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := os.WriteFile(d.pidFile(), []byte(fmt.Sprintf("%d\n", cmd.Process.Pid)), 0o644); err != nil {
		cmd.Process.Kill() //nolint:errcheck // we report the write error
		return "", fmt.Errorf("managed containerd: %w", err)
	}

	deadline := time.NewTimer(d.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case err := <-exited:
			return "", fmt.Errorf("managed containerd exited at start (%v); last lines of %s:\n%s", err, d.logFile(), tail(d.logFile(), 10))
		case <-deadline.C:
			return "", fmt.Errorf("managed containerd did not answer at %s within %s; last lines of %s:\n%s", d.address(), d.timeout, d.logFile(), tail(d.logFile(), 10))
		case <-tick.C:
			if answers(d.address()) {
				return d.address(), nil
			}
		}
	}
}

// configTOML is the managed daemon's configuration: its own root, state and
// sockets, and none of the CRI and NRI plugins (they are for Kubernetes and
// would claim sockets another containerd on the host uses).
func (d daemon) configTOML() string {
	return fmt.Sprintf(`# Written by berth: the managed containerd. Changes are overwritten.
version = 3
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime",
  "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.nri.v1.nri",
]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, d.root(), d.state(), d.address(), d.address()+".ttrpc", filepath.Join(d.root(), "opt"))
}

// ManagedConfig is the configuration berth's managed containerd runs with
// for berth's data and run directories ("" for the defaults): what a systemd
// unit starts containerd with at boot, so that berth finds it answering where
// it would start it.
func ManagedConfig(dataDir, runDir string) string {
	if dataDir == "" {
		dataDir = "/var/lib/berth" // as connect defaults it
	}
	if runDir == "" {
		runDir = defaultRunDir
	}
	return daemon{dataDir: dataDir, runDir: runDir}.configTOML()
}

// installDir is where scripts/install-deps.sh puts the containerd matching
// the client berth was built with: /usr/local/lib/berth/containerd-v<version>.
func installDir() string {
	v, _, _ := strings.Cut(version.Version, "+")
	return "/usr/local/lib/berth/containerd-v" + strings.TrimPrefix(v, "v")
}

// findDaemon returns the directory holding containerd and its runc shim:
// dir if given, else the install directory of the matching version, else
// the directory of the containerd on PATH.
func findDaemon(dir string) (string, error) {
	candidates := []string{}
	if dir != "" {
		candidates = append(candidates, dir)
	} else {
		candidates = append(candidates, installDir())
		if p, err := exec.LookPath("containerd"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	for _, c := range candidates {
		if isExecutable(filepath.Join(c, "containerd")) && isExecutable(filepath.Join(c, "containerd-shim-runc-v2")) {
			return c, nil
		}
	}
	return "", fmt.Errorf("no containerd found to run berth's managed daemon (looked in %s): run `make deps` (scripts/install-deps.sh), or point --address at a running containerd", strings.Join(candidates, ", "))
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
