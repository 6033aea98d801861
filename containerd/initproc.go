package containerd

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// InitPath is where a service with init: true finds berth's init: the
// berth executable itself, bound read-only, under the name Docker uses.
const InitPath = "/sbin/docker-init"

// RunInit is the init berth puts at pid 1 of a container with init: true
// (berth itself, run as docker-init -- CMD...): it starts the command,
// passes it the signals it gets, reaps every orphan that ends up with it,
// and exits as the command did (128+signal when a signal killed it).
//
// Options before "--": --keep-stdin gives the command a standard input
// that never ends (stdin_open without tty: Docker keeps the container's
// stdin open, and a program reading it must not see EOF); --exec replaces
// this process by the command instead of staying as init.
func RunInit(args []string) int {
	keepStdin, execOnly := false, false
	for len(args) > 0 && args[0] != "--" && strings.HasPrefix(args[0], "--") {
		switch args[0] {
		case "--keep-stdin":
			keepStdin = true
		case "--exec":
			execOnly = true
		default:
			fmt.Fprintf(os.Stderr, "docker-init: unknown option %s\n", args[0])
			return 2
		}
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "docker-init: no command to run")
		return 2
	}
	if keepStdin {
		if err := holdStdin(); err != nil {
			fmt.Fprintf(os.Stderr, "docker-init: stdin_open: %v\n", err)
			return 126
		}
	}
	if execOnly {
		path, err := exec.LookPath(args[0])
		if err == nil {
			err = syscall.Exec(path, args, os.Environ())
		}
		fmt.Fprintf(os.Stderr, "docker-init: exec %s: %v\n", args[0], err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "docker-init: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	child := cmd.Process.Pid
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			// Reap everything that ended; the command's end ends init.
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
				if pid == child {
					if ws.Signaled() {
						return 128 + int(ws.Signal())
					}
					return ws.ExitStatus()
				}
			}
		case syscall.SIGURG, syscall.SIGPIPE:
			// The Go runtime's own and broken pipes: not for the command.
		default:
			syscall.Kill(child, sig.(syscall.Signal)) //nolint:errcheck // it may have ended
		}
	}
	return 0
}

// holdStdin makes standard input a pipe that holds its own write end (the
// pipe reopened read-write through /proc), so reads wait forever instead of
// ending, and no extra descriptor leaks into the command.
func holdStdin() error {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return err
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	fd, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", p[0]), syscall.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return syscall.Dup3(fd, 0, 0)
}

// checkStaticInit refuses a berth executable that needs a dynamic loader:
// bound into an image without glibc (busybox, alpine) it could not start,
// and the container would die with a bare "no such file or directory".
func checkStaticInit(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading berth's executable %s for init: true: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("init: true runs berth's executable %s inside the container, but it is dynamically linked; build berth with CGO_ENABLED=0 (as `make build` does)", path)
		}
	}
	return nil
}
