package netbridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/netbridge/dns"
)

// DNSCommand is the hidden berth subcommand that runs a project's DNS
// daemon: `berth __dns PROJECT`.
const DNSCommand = "__dns"

// dnsDir holds a project's DNS daemon files: pid, lock and log.
func dnsDir(runDir, project string) string { return filepath.Join(runDir, "projects", project) }

// DNSLogPath is the DNS daemon's log file of a project.
func DNSLogPath(runDir, project string) string {
	return filepath.Join(dnsDir(runDir, project), "dns.log")
}

// ensureDNS starts the project's background process (DNS on its networks,
// supervision of its containers) unless it runs, and waits until it
// serves. A lock keeps two berth processes from starting two.
func (n *Networks) ensureDNS(project string) error {
	started, err := n.startDNS(project)
	if err != nil {
		return err
	}
	return started()
}

// dnsPoll is how often a daemon's start is checked for.
const dnsPoll = 5 * time.Millisecond

// startDNS is ensureDNS up to the start of the process: started waits
// until it serves. It holds the lock until started is called, which it
// must be (once).
func (n *Networks) startDNS(project string) (started func() error, retErr error) {
	dir := dnsDir(n.runDir, project)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dns daemon: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "dns.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dns daemon: %w", err)
	}
	unlocked := func() error { return lock.Close() }
	defer func() {
		if retErr != nil {
			lock.Close()
		}
	}()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("dns daemon: lock: %w", err)
	}
	pidFile := filepath.Join(dir, "dns.pid")
	if pid, ok := runningDaemon(pidFile, project); ok && pid > 0 {
		if !staleExecutable(pid, n.exe) {
			return unlocked, nil
		}
		// Started by another berth binary, since removed or replaced (an
		// upgrade, another checkout): its restarts would name a log
		// driver that is gone. The new one takes the containers over, as
		// after a crash of the old.
		if err := stopProcess(pid, project); err != nil {
			return nil, err
		}
	}
	os.Remove(pidFile)
	logf, err := os.OpenFile(DNSLogPath(n.runDir, project), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dns daemon: %w", err)
	}
	defer logf.Close() // the process has its own
	cmd := exec.Command(n.exe, DNSCommand, project)
	cmd.Env = append(os.Environ(), n.DaemonEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the dns daemon of project %s: %w", project, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	begun := time.Now()
	return func() error {
		defer lock.Close()
		deadline := time.NewTimer(10*time.Second - time.Since(begun))
		defer deadline.Stop()
		tick := time.NewTicker(dnsPoll)
		defer tick.Stop()
		running := func() bool {
			pid, ok := runningDaemon(pidFile, project)
			return ok && pid == cmd.Process.Pid
		}
		switch err := awaitStart(exited, running, deadline.C, tick.C); {
		case errors.Is(err, errNotStarted):
			return fmt.Errorf("the dns daemon of project %s did not start within 10s: see %s", project, DNSLogPath(n.runDir, project))
		case err != nil:
			return fmt.Errorf("the dns daemon of project %s exited at start (%v): see %s", project, err, DNSLogPath(n.runDir, project))
		}
		return nil
	}, nil
}

// errNotStarted is awaitStart's error for a daemon not running by the
// deadline.
var errNotStarted = errors.New("not started")

// awaitStart waits until running reports the daemon serving, looking at
// once and at each tick; it returns the daemon's exit error if it exited
// first, errNotStarted if it is not running when the deadline comes. The
// deadline counts from the daemon's start, and the wait may begin long
// after it (up starts the project process ahead, then builds): a deadline
// already past fails only a daemon that is not running by then.
func awaitStart(exited <-chan error, running func() bool, deadline, tick <-chan time.Time) error {
	for {
		select {
		case err := <-exited:
			return err
		default:
		}
		if running() {
			return nil
		}
		select {
		case err := <-exited:
			return err
		case <-deadline:
			if running() {
				return nil
			}
			return errNotStarted
		case <-tick:
		}
	}
}

// waitDNSGone waits (briefly) for the project's DNS daemon to exit, then
// removes its files. The daemon exits by itself once its project has no
// network left.
func (n *Networks) waitDNSGone(project string) error {
	dir := dnsDir(n.runDir, project)
	pidFile := filepath.Join(dir, "dns.pid")
	// Its DNS ends by itself with the networks; its supervision ends when
	// asked, the project's containers being gone.
	if pid, alive := runningDaemon(pidFile, project); alive {
		syscall.Kill(pid, syscall.SIGTERM) //nolint:errcheck // it may have exited meanwhile
	}
	for i := 0; i < 200; i++ {
		if _, alive := runningDaemon(pidFile, project); !alive {
			return os.RemoveAll(dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the dns daemon of project %s did not exit after its networks were removed: see %s", project, DNSLogPath(n.runDir, project))
}

// DNSDaemonPID returns the pid of the project's DNS daemon, or 0 when none runs.
func DNSDaemonPID(runDir, project string) int {
	pid, ok := runningDaemon(filepath.Join(dnsDir(runDir, project), "dns.pid"), project)
	if !ok {
		return 0
	}
	return pid
}

// runningDaemon reads a pid file and reports whether that process is the
// project's DNS daemon (the pid is not reused by something else).
func runningDaemon(pidFile, project string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, false
	}
	return pid, bytes.Contains(cmdline, []byte("\x00"+DNSCommand+"\x00"+project+"\x00"))
}

// Supervise is the part of the project daemon that is not DNS: it runs
// until the project has no container and dnsDone reports true; poke fires
// when DNS has finished, so that it looks again; it calls ready once it
// follows the project (the daemon counts as started only then).
type Supervise func(ctx context.Context, dnsDone func() bool, poke <-chan struct{}, ready func()) error

// RunDNSDaemon is the body of `berth __dns PROJECT`, the project's
// background process: it serves the project's networks until none is left,
// and runs supervise beside it; it returns when both are done. Names
// outside the project go to upstreams (host:port) when given, else to the
// host's resolvers.
func RunDNSDaemon(ctx context.Context, project, dataDir, runDir string, upstreams []string, supervise Supervise) error {
	logger := log.New(os.Stderr, "", log.LstdFlags)
	var upstream dns.Forwarder
	servers := upstreams
	if len(servers) == 0 {
		var err error
		if servers, err = dns.HostResolvers("/etc/resolv.conf"); err != nil {
			logger.Printf("no upstream resolvers (%v): names outside the project will fail", err)
		}
	}
	if len(servers) > 0 {
		upstream = &dns.Upstream{Servers: servers}
		logger.Printf("forwarding other names to %s", strings.Join(servers, ", "))
	}
	d := &DNSDaemon{Project: project, IPAM: newProjectIPAM(dataDir), Upstream: upstream, Log: logger}
	pidFile := filepath.Join(dnsDir(runDir, project), "dns.pid")
	ready := make(chan struct{})
	defer os.Remove(pidFile)

	var dnsDone atomic.Bool
	poke := make(chan struct{}, 1)
	dnsErr := make(chan error, 1)
	go func() {
		err := d.Run(ctx, func() { close(ready) })
		dnsDone.Store(true)
		poke <- struct{}{}
		dnsErr <- err
	}()
	select {
	case <-ready:
	case err := <-dnsErr:
		return err
	}
	started := func() {
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			logger.Printf("write %s: %v", pidFile, err)
		}
	}
	if supervise == nil {
		started()
		return <-dnsErr
	}
	var once sync.Once
	if err := supervise(ctx, dnsDone.Load, poke, func() { once.Do(started) }); err != nil {
		logger.Printf("supervision stopped: %v", err)
	}
	once.Do(started) // DNS goes on serving without it
	return <-dnsErr
}

// staleExecutable reports whether process pid runs another program than
// exe: a binary deleted or replaced since it started, or another path.
func staleExecutable(pid int, exe string) bool {
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false // gone, or not ours to read: leave it be
	}
	return !sameExecutable(link, exe)
}

// sameExecutable compares the /proc/PID/exe link of a process with the
// path of a binary: a link ending in " (deleted)" is a binary that was
// removed or replaced since the process started.
func sameExecutable(link, exe string) bool {
	if strings.HasSuffix(link, " (deleted)") {
		return false
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return link == exe
}

// stopProcess ends the project daemon pid: SIGTERM, then SIGKILL if it
// has not exited within a second; it returns once the process is gone.
func stopProcess(pid int, project string) error {
	syscall.Kill(pid, syscall.SIGTERM) //nolint:errcheck // it may have exited meanwhile
	for i := 0; i < 500; i++ {
		if i == 100 {
			syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // as above
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && zombie(b) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the project process of %s (pid %d), started by an older berth binary, did not exit", project, pid)
}

// zombie reports whether a /proc/PID/stat line is of a process that has
// exited and waits for its parent to reap it.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
