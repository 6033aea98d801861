package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/snapshots"

	"github.com/berth/berth/hostproc"
)

// LabelOwner marks what a build makes that a killed berth would leave
// behind (its build containers and its lease); the value is the build's
// BuildOwner. The builder's label keys are spelled out here only.
const LabelOwner = "berth.build-owner"

// leasePurpose is the label that says what a lease of the builder is for.
const leasePurpose = "berth.io/purpose"

// BuildOwner is one build of one berth process. The process is named by its pid
// and its start time, as a pid alone is reused once the process is gone;
// Build tells apart the builds of one process.
type BuildOwner struct {
	PID   int
	Start uint64
	Build string
}

// String is the owner as labels, directory and network names carry it:
// "<pid>-<start>-<build>".
func (o BuildOwner) String() string { return fmt.Sprintf("%d-%d-%s", o.PID, o.Start, o.Build) }

// ParseBuildOwner reads BuildOwner.String's form back.
func ParseBuildOwner(s string) (BuildOwner, error) {
	f := strings.SplitN(s, "-", 3)
	if len(f) != 3 || f[2] == "" {
		return BuildOwner{}, fmt.Errorf("build owner %q: want <pid>-<start>-<build>", s)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return BuildOwner{}, fmt.Errorf("build owner %q: bad pid", s)
	}
	start, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return BuildOwner{}, fmt.Errorf("build owner %q: bad start time", s)
	}
	return BuildOwner{PID: pid, Start: start, Build: f[2]}, nil
}

// newOwner is a new build of this process.
func newOwner(proc hostproc.Dir) (BuildOwner, error) {
	pid := os.Getpid()
	start, err := proc.StartTicks(pid)
	if err != nil {
		return BuildOwner{}, fmt.Errorf("build: own start time: %w", err)
	}
	return BuildOwner{PID: pid, Start: start, Build: randomID()}, nil
}

// Alive reports whether the owner's process still runs: a process with its
// pid that started when it did. When that cannot be told (proc unreadable
// for another reason than the process being gone) it is taken as alive:
// what a running build uses must never be removed.
func (o BuildOwner) Alive(proc hostproc.Dir) bool {
	start, err := proc.StartTicks(o.PID)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err != nil || start == o.Start
}

// stale reports whether s names an owner whose process is gone. Names that
// are not an owner's are never stale: they are not the builder's.
func stale(proc hostproc.Dir, s string) bool {
	o, err := ParseBuildOwner(s)
	return err == nil && !o.Alive(proc)
}

// ownerLabel labels the snapshots the build prepares with its owner, as
// its containers and lease are: what is left of a build is told from
// what a build that still runs uses (the lease alone holds them for the
// collector; the label is for whoever lists them).
func (bd *build) ownerLabel() snapshots.Opt {
	return snapshots.WithLabels(map[string]string{LabelOwner: bd.owner.String()})
}
