package runstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth/berth/scheduler"
)

// Supervision is what a project's background process says of its
// supervision of the project's containers.
type Supervision string

const (
	// Supervising: it follows the runtime's events, probes healthchecks
	// and applies restart policies.
	Supervising Supervision = "supervising"
	// Disconnected: it lost the runtime (containerd went away) and tries
	// to connect again; nothing is probed or restarted meanwhile.
	Disconnected Supervision = "disconnected"
	// Stopped: its supervision ended with an error; it serves DNS only.
	Stopped Supervision = "stopped"
)

// SupervisionState is the content of the supervision file.
type SupervisionState struct {
	State Supervision `json:"state"`
	// Since is when it entered State.
	Since time.Time `json:"since"`
	// Pid is the background process that wrote it.
	Pid int `json:"pid"`
}

// Recorder writes the supervision file of the project's background
// process (this process, Pid) as its supervisor's state changes. A file it
// cannot write is logged, not an error: supervision goes on without it.
type Recorder struct {
	RunDir, Project string
	Pid             int
	// Now is the clock of Since; nil: time.Now.
	Now func() time.Time
	Log *log.Logger
}

// Supervisor records the supervisor's state, as scheduler.Supervisor's
// State callback: connected is Supervising, anything else Disconnected.
func (r Recorder) Supervisor(st scheduler.SupervisorState) {
	if st == scheduler.SupervisorConnected {
		r.record(Supervising)
	} else {
		r.record(Disconnected)
	}
}

// Stopped records that the supervision ended (or never began).
func (r Recorder) Stopped() { r.record(Stopped) }

func (r Recorder) record(st Supervision) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if err := WriteSupervision(r.RunDir, r.Project, SupervisionState{State: st, Since: now(), Pid: r.Pid}); err != nil {
		r.Log.Print(err)
	}
}

// supervisionPath is the supervision file of a project, in the project's
// directory of the run dir (removed with it when the project is down).
func supervisionPath(runDir, project string) string {
	return filepath.Join(runDir, "projects", project, "supervision.json")
}

// WriteSupervision records the supervision state of the project's
// background process (this process). The file is replaced atomically, so
// that a reader never sees half of it. The project's directory must exist
// (up makes it before it starts the process): one that down removed is
// not made again.
func WriteSupervision(runDir, project string, st SupervisionState) error {
	path := supervisionPath(runDir, project)
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("write supervision state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write supervision state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write supervision state: %w", err)
	}
	return nil
}

// ReadSupervision reads the supervision state the project's background
// process pid wrote. ok is false when there is none from that process (none
// at all, one of an earlier process, or unreadable): nothing can then be
// said of its supervision.
func ReadSupervision(runDir, project string, pid int) (SupervisionState, bool) {
	b, err := os.ReadFile(supervisionPath(runDir, project))
	if err != nil {
		return SupervisionState{}, false
	}
	var st SupervisionState
	if err := json.Unmarshal(b, &st); err != nil || st.Pid != pid || pid <= 0 {
		return SupervisionState{}, false
	}
	return st, true
}

// IsSupervising reports whether the project's background process pid says
// it supervises the project now.
func IsSupervising(runDir, project string, pid int) bool {
	st, ok := ReadSupervision(runDir, project, pid)
	return ok && st.State == Supervising
}

// StopIfNotSupervising stops the project's background process pid (pid 0:
// none runs) unless it says it supervises the project: one that lost
// containerd and has not connected again, whose supervision stopped, or
// that predates the supervision file. Up calls it before it makes the
// project, which then starts a new background process: that one takes the
// containers over without restarting them. It reports why it stopped the
// process, "" when it did not.
func StopIfNotSupervising(ctx context.Context, runDir, project string, pid int) (string, error) {
	if pid <= 0 || IsSupervising(runDir, project, pid) {
		return "", nil
	}
	why := "its supervision state is unknown"
	if st, ok := ReadSupervision(runDir, project, pid); ok {
		why = fmt.Sprintf("its supervision is %s since %s", st.State, st.Since.Local().Format(time.DateTime))
	}
	if err := StopProcess(ctx, pid, stopGrace, stopTick); err != nil {
		return "", fmt.Errorf("stop the background process of project %s (%s): %w", project, why, err)
	}
	return why, nil
}

// How long StopIfNotSupervising lets the process end by itself (it
// removes its pid file then), and how often it looks.
const (
	stopGrace = 10 * time.Second
	stopTick  = 20 * time.Millisecond
)

// StopProcess ends process pid: SIGTERM, then SIGKILL when it has not
// exited after grace. It returns once the process is gone, or with ctx's
// error. tick is how often it looks (the process is not its child, so
// there is no exit to wait for).
func StopProcess(ctx context.Context, pid int, grace, tick time.Duration) error {
	if pid <= 0 {
		return fmt.Errorf("stop process %d: not a process id", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stop process %d: %w", pid, err)
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		if !alive(pid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("stop process %d: %w", pid, err)
			}
		case <-ticker.C:
		}
	}
}

// alive reports whether pid is a process that has not exited (a zombie
// has: it only waits for its parent).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
		}
	}
	return true
}
