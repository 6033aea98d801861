package systemd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultUnitDir is where system units of the local administrator go.
const DefaultUnitDir = "/etc/systemd/system"

// Systemctl runs systemctl with args.
type Systemctl interface {
	Run(ctx context.Context, args ...string) error
}

// execSystemctl is the systemctl on PATH.
type execSystemctl struct{ path string }

func (s execSystemctl) Run(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, s.path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Detect returns the machine's systemctl when systemd runs the machine
// (the test of sd_booted(3): /run/systemd/system exists) and systemctl is
// on PATH; otherwise nil and why not.
func Detect() (Systemctl, string) {
	if st, err := os.Stat("/run/systemd/system"); err != nil || !st.IsDir() {
		why := "systemd does not run this machine"
		if comm, err := os.ReadFile("/proc/1/comm"); err == nil {
			why += fmt.Sprintf(" (PID 1 is %s)", strings.TrimSpace(string(comm)))
		}
		return nil, why
	}
	path, err := exec.LookPath("systemctl")
	if err != nil {
		return nil, "systemctl is not on PATH"
	}
	return execSystemctl{path: path}, ""
}

// Installer writes units into Dir and has systemd load, enable and start
// them through Systemctl; with no Systemctl it only writes them, and says
// what is left to run.
type Installer struct {
	Dir       string
	Systemctl Systemctl
}

// Result says what Install or Uninstall did, and what is left to run.
type Result struct {
	// Path is the unit file's path.
	Path string
	// Changed says whether the file was written (or removed); false when
	// it was there as it is to be.
	Changed bool
	// Removed are other files removed with it (the unit's enablement
	// links, when there is no systemctl to remove them).
	Removed []string
	// Ran are the systemctl commands run; ToRun those to run by hand,
	// on a machine that systemd runs.
	Ran, ToRun [][]string
}

// Install writes the unit into the unit directory (unless it is there as
// it is), then has systemd reload its units and enable it, and start it
// with now. When reloading or enabling fails, the unit file is put back
// as it was; when only the start fails, the unit stays installed.
func (i Installer) Install(ctx context.Context, u Unit, now bool) (_ Result, retErr error) {
	text, err := u.Render()
	if err != nil {
		return Result{}, err
	}
	if err := i.checkDir(); err != nil {
		return Result{}, err
	}
	res := Result{Path: filepath.Join(i.Dir, u.Name())}
	enabled := false
	old, err := os.ReadFile(res.Path)
	existed := err == nil
	if err != nil && !os.IsNotExist(err) {
		return Result{}, fmt.Errorf("read %s: %w", res.Path, err)
	}
	if !existed || string(old) != text {
		if err := writeFile(res.Path, []byte(text)); err != nil {
			return Result{}, err
		}
		res.Changed = true
		defer func() {
			if retErr == nil || enabled {
				return // installed; at most the start failed
			}
			if existed {
				writeFile(res.Path, old) //nolint:errcheck // best effort rollback; the error is reported
			} else {
				os.Remove(res.Path)
			}
			if i.Systemctl != nil {
				i.Systemctl.Run(context.WithoutCancel(ctx), "daemon-reload") //nolint:errcheck // best effort rollback
			}
		}()
	}
	cmds := [][]string{{"daemon-reload"}, {"enable", u.Name()}}
	if now {
		cmds = append(cmds, []string{"start", u.Name()})
	}
	if i.Systemctl == nil {
		res.ToRun = cmds
		return res, nil
	}
	for _, c := range cmds {
		if err := i.Systemctl.Run(ctx, c...); err != nil {
			if c[0] == "start" {
				return res, fmt.Errorf("%s is installed and enabled, but it did not start (journalctl -u %s tells why): %w", u.Name(), u.Name(), err)
			}
			return res, err
		}
		res.Ran = append(res.Ran, c)
		enabled = enabled || c[0] == "enable"
	}
	return res, nil
}

// Uninstall disables the project's unit (stopping it first with now:
// that stops the project's containers) and removes it. With no
// systemctl, it removes the unit's links in the unit directory's .wants
// directories itself, as systemctl disable would.
func (i Installer) Uninstall(ctx context.Context, project string, now bool) (Result, error) {
	name := UnitName(project)
	res := Result{Path: filepath.Join(i.Dir, name)}
	if _, err := os.Stat(res.Path); os.IsNotExist(err) {
		return Result{}, fmt.Errorf("no unit %s in %s: nothing to uninstall (was it installed with another --unit-dir?)", name, i.Dir)
	} else if err != nil {
		return Result{}, err
	}
	var before [][]string
	if now {
		before = append(before, []string{"stop", name})
	}
	before = append(before, []string{"disable", name})
	if i.Systemctl != nil {
		for _, c := range before {
			if err := i.Systemctl.Run(ctx, c...); err != nil {
				return res, err
			}
			res.Ran = append(res.Ran, c)
		}
	} else {
		links, err := filepath.Glob(filepath.Join(i.Dir, "*.wants", name))
		if err != nil {
			return Result{}, err
		}
		for _, l := range links {
			if err := os.Remove(l); err != nil {
				return res, err
			}
			res.Removed = append(res.Removed, l)
		}
		if now {
			res.ToRun = append(res.ToRun, []string{"stop", name})
		}
	}
	if err := os.Remove(res.Path); err != nil {
		return res, err
	}
	res.Changed = true
	if i.Systemctl == nil {
		res.ToRun = append(res.ToRun, []string{"daemon-reload"})
		return res, nil
	}
	if err := i.Systemctl.Run(ctx, "daemon-reload"); err != nil {
		return res, err
	}
	res.Ran = append(res.Ran, []string{"daemon-reload"})
	return res, nil
}

func (i Installer) checkDir() error {
	st, err := os.Stat(i.Dir)
	if err == nil && !st.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return fmt.Errorf("unit directory %s: %w: create it, or name another with --unit-dir", i.Dir, err)
	}
	return nil
}

// writeFile replaces path with data at once (written aside, renamed), so
// that systemd never reads half a unit.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
