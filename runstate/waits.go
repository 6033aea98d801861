package runstate

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Waits: a command that is about to wait for the health of some of a
// project's services (up --wait; up or run starting services whose
// dependents need them healthy) says so in the run directory before it
// starts anything, so that the project's supervisor probes those services
// eagerly from their start (scheduler.PaceEager) and spreads the probes of
// the others. Each command writes its own file, named by its pid, and
// removes it when it is done; the file of a command that died is ignored
// (and removed) by the reader.

// waitsDir holds the wait files of a project.
func waitsDir(runDir, project string) string {
	return filepath.Join(runDir, "projects", project, "waits")
}

// AnnounceWait records that this process (pid) waits on the health of
// services of the project. release removes the record; it is safe to call
// more than once. No services: nothing is recorded.
func AnnounceWait(runDir, project string, pid int, services []string) (release func(), err error) {
	if len(services) == 0 {
		return func() {}, nil
	}
	dir := waitsDir(runDir, project)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("announce the services waited on: %w", err)
	}
	path := filepath.Join(dir, strconv.Itoa(pid))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(services, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("announce the services waited on: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("announce the services waited on: %w", err)
	}
	return func() {
		os.Remove(path)
		os.Remove(dir) // only once empty: another command may wait too
	}, nil
}

// Awaited are the services of the project that a live command announced
// it waits on. Records of processes that are gone are removed. An
// unreadable directory is no waiter: the records only make probes come
// sooner.
func Awaited(runDir, project string) map[string]bool {
	dir := waitsDir(runDir, project)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // a record being written
		}
		path := filepath.Join(dir, e.Name())
		if !alive(pid) {
			os.Remove(path)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, name := range strings.Split(string(b), "\n") {
			if name != "" {
				out[name] = true
			}
		}
	}
	return out
}
