package containerd

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// shimWeightFactor is how many processes' CPU weight a project's shared
// shim gets. It does the work of as many shims as the project has
// containers (and runs their runc commands, which stay in its cgroup),
// but the kernel shares a busy CPU by process, or by cgroup: a single
// shim at a default weight on a loaded machine gets a fraction of what
// its containers' own shims would have had together, and their stops,
// exits and removals back up behind it (a down of 30 containers at a
// load of 60 on 2 cores: 43 s with kills timing out, against 19 s with a
// shim each and 11 s with a tenfold weight). Ten times is the weight of
// ten shims; the containers themselves are in cgroups of their own and
// keep their weights.
const shimWeightFactor = 10

// shimCgroup is the cgroup (relative to each hierarchy's root) of the
// project's shared shim: beside the containers' cgroups, in a parent of
// its own, kept apart from another berth's by the same means (see
// cgroupParent).
func (c *Client) shimCgroup(project string) string {
	base := c.cgroupParent()
	if base == "" {
		base = "/" + c.namespace
	}
	return base + "-shims/" + project
}

// weighShim moves the shim process pid into the cgroup rel (made when
// missing) under the cgroup root (/sys/fs/cgroup), whose CPU weight is
// shimWeightFactor times the default, on cgroup v1 (its cpu hierarchy)
// and v2 alike.
func weighShim(root, rel string, pid int) error {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return weighShimUnified(root, rel, pid)
	}
	dir := filepath.Join(root, "cpu", rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeCgroupFile(dir, "cpu.shares", strconv.Itoa(1024*shimWeightFactor)); err != nil {
		return err
	}
	return writeCgroupFile(dir, "cgroup.procs", strconv.Itoa(pid))
}

// weighShimUnified is weighShim on cgroup v2: each level down to the
// shim's cgroup has the cpu controller enabled for its children.
func weighShimUnified(root, rel string, pid int) error {
	dir := root
	for _, part := range strings.Split(strings.Trim(path.Clean(rel), "/"), "/") {
		ctrl, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		if err != nil {
			return err
		}
		if !strings.Contains(" "+strings.TrimSpace(string(ctrl))+" ", " cpu ") {
			if err := writeCgroupFile(dir, "cgroup.subtree_control", "+cpu"); err != nil {
				return err
			}
		}
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if err := writeCgroupFile(dir, "cpu.weight", strconv.Itoa(100*shimWeightFactor)); err != nil {
		return err
	}
	return writeCgroupFile(dir, "cgroup.procs", strconv.Itoa(pid))
}

// writeCgroupFile writes one value to a cgroup's interface file.
func writeCgroupFile(dir, name, value string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
		return fmt.Errorf("cgroup %s: %w", name, err)
	}
	return nil
}

// unweighShim removes the shim's cgroup, and its parent when that is
// left empty, once its shim has exited (it exits right after its last
// task's delete): it waits for that up to wait, and leaves a cgroup that
// still has a process.
func unweighShim(root, rel string, wait time.Duration) {
	dir := filepath.Join(root, rel)
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		dir = filepath.Join(root, "cpu", rel)
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Rmdir(dir)
		if err == nil {
			// The parent too, when it was the last project's: another's
			// keeps it (ENOTEMPTY).
			unix.Rmdir(filepath.Dir(dir)) //nolint:errcheck // see above
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shimPid is the pid of the shim serving the task whose process is pid:
// its parent (the shim is the subreaper of the processes runc starts).
func shimPid(procRoot string, pid uint32) (int, error) {
	raw, err := os.ReadFile(filepath.Join(procRoot, strconv.FormatUint(uint64(pid), 10), "stat"))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(raw)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("%s/%d/stat: unexpected %q", procRoot, pid, s)
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 2 {
		return 0, fmt.Errorf("%s/%d/stat: unexpected %q", procRoot, pid, s)
	}
	return strconv.Atoi(fields[1])
}
