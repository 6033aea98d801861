package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/compose"
)

// Volume is a named volume as the runtime keeps it.
type Volume struct {
	Name string
	// Driver is the volume driver: "local" for a directory of berth's.
	Driver string
	// Mountpoint is where the volume's content is on the host.
	Mountpoint string
	// Labels are compose's (project, volume key) and the file's labels;
	// nil for a volume an older berth made, which kept none.
	Labels compose.Labels
	// CreatedAt is when the volume was made (for an older volume, when
	// its directory last changed, as Docker says).
	CreatedAt time.Time
}

// VolumeRuntime is what the volume commands need from the runtime.
type VolumeRuntime interface {
	// Volumes lists every named volume on this machine.
	Volumes(ctx context.Context) ([]Volume, error)
	// Containers lists the project's containers ("": every project's).
	Containers(ctx context.Context, project string) ([]Container, error)
	// RemoveVolume deletes a named volume. A missing volume is not an error.
	RemoveVolume(ctx context.Context, name string) error
}

// VolumeReleaser is a runtime that makes named volumes with the first
// container that mounts them, and can take back those it made.
type VolumeReleaser interface {
	// ReleaseVolumes removes the named volumes this runtime made that
	// nothing uses: no creation in progress and no container of any
	// project, in any state. Each is decided under the lock that the
	// volume's creation takes, so a volume that a container made meanwhile
	// mounts stays.
	ReleaseVolumes(ctx context.Context) error
}

// VolumeMaker is a runtime that can make the project's named volumes
// that no service mounts, for up --all-resources (the others are made
// with their first container).
type VolumeMaker interface {
	EnsureVolumes(ctx context.Context, p *compose.Project) error
}

// releaseVolumes has rt, when it is a VolumeReleaser, take back the named
// volumes it made for the containers a failed command removed again; err
// is the command's error, returned with what releasing them returned.
func releaseVolumes(ctx context.Context, rt Runtime, err error) error {
	vr, ok := rt.(VolumeReleaser)
	if !ok {
		return err
	}
	if rerr := vr.ReleaseVolumes(context.WithoutCancel(ctx)); rerr != nil {
		return fmt.Errorf("%w (and removing the volumes it made failed: %v)", err, rerr)
	}
	return err
}

// ErrNoSuchVolume is returned (wrapped) for a volume name that names no
// volume of the project.
var ErrNoSuchVolume = errors.New("no such volume")

// ProjectVolumes picks the project's volumes out of all, sorted by name:
// those its compose file declares (not external ones: they are not the
// project's), those labelled with its name, and those an older berth made
// without labels whose name starts with "<project>_".
func ProjectVolumes(p *compose.Project, all []Volume) []Volume {
	declared := declaredVolumes(p)
	var out []Volume
	for _, v := range all {
		_, ok := declared[v.Name]
		switch {
		case ok:
		case v.Labels.Project() != "":
			ok = v.Labels.Project() == p.Name
		case v.Labels == nil:
			ok = strings.HasPrefix(v.Name, compose.VolumeName(p.Name, ""))
		}
		if ok {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// declaredVolumes are the real names of the project's own named volumes
// (not external ones), with their keys.
func declaredVolumes(p *compose.Project) map[string]string {
	names := map[string]string{}
	for key, v := range p.Volumes {
		if !v.External {
			names[v.Name] = key
		}
	}
	return names
}

// ResolveVolume finds the volume arg names among the project's volumes
// (from ProjectVolumes): arg is its key in the compose file ("data") or
// its full name ("demo_data"). An unknown name is ErrNoSuchVolume; so is
// a volume the file declares that does not exist yet, which says so.
func ResolveVolume(p *compose.Project, vols []Volume, arg string) (Volume, error) {
	name := arg
	if v, ok := p.Volumes[arg]; ok {
		if v.External {
			return Volume{}, fmt.Errorf("volume %q is external (%s): it is not the project's, berth does not manage it", arg, v.Name)
		}
		name = v.Name
	}
	for _, match := range []func(Volume) bool{
		func(v Volume) bool { return v.Name == name },
		func(v Volume) bool { return v.Labels.Volume() == arg }, // its key, with no compose file at hand
		func(v Volume) bool { return v.Labels == nil && v.Name == compose.VolumeName(p.Name, arg) },
	} {
		for _, v := range vols {
			if match(v) {
				return v, nil
			}
		}
	}
	if key, ok := declaredVolumes(p)[name]; ok {
		return Volume{}, fmt.Errorf("%w: volume %q (%s) of project %s does not exist yet: berth up creates it", ErrNoSuchVolume, key, name, p.Name)
	}
	known := make([]string, 0, len(vols))
	for _, v := range vols {
		known = append(known, v.Name)
	}
	list := "it has none"
	if len(known) > 0 {
		list = "its volumes: " + strings.Join(known, ", ")
	}
	return Volume{}, fmt.Errorf("%w: %q is no volume of project %s (%s)", ErrNoSuchVolume, arg, p.Name, list)
}

// ResolveVolumes resolves each name of args (see ResolveVolume), once
// each; with skipMissing, names of no volume are left out rather than
// failing.
func ResolveVolumes(p *compose.Project, vols []Volume, args []string, skipMissing bool) ([]Volume, error) {
	var out []Volume
	seen := map[string]bool{}
	var errs []error
	for _, arg := range args {
		v, err := ResolveVolume(p, vols, arg)
		switch {
		case errors.Is(err, ErrNoSuchVolume) && skipMissing:
		case err != nil:
			errs = append(errs, err)
		case !seen[v.Name]:
			seen[v.Name] = true
			out = append(out, v)
		}
	}
	return out, errors.Join(errs...)
}

// VolumeUsers are the containers, of any project and in any state, that
// mount the named volume.
func VolumeUsers(cs []Container, name string) []Container {
	var out []Container
	for _, c := range cs {
		for _, v := range c.Volumes {
			if v == name {
				out = append(out, c)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RemoveVolumes removes the project's volumes args names (keys or full
// names). It removes none unless it can remove them all: every name must
// name a volume of the project (with force, names of no volume are
// skipped, as docker volume rm -f does) and no container may use it, not
// even a stopped one; force does not change that. It returns the names of
// the volumes it removed.
func RemoveVolumes(ctx context.Context, rt VolumeRuntime, p *compose.Project, args []string, force bool) ([]string, error) {
	all, err := rt.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	targets, err := ResolveVolumes(p, ProjectVolumes(p, all), args, force)
	if err != nil {
		return nil, err
	}
	cs, err := rt.Containers(ctx, "") // a volume may be another project's external one
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, v := range targets {
		for _, c := range VolumeUsers(cs, v.Name) {
			errs = append(errs, volumeInUse(p, v, c))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range targets {
		if err := rt.RemoveVolume(ctx, v.Name); err != nil {
			return removed, err
		}
		removed = append(removed, v.Name)
	}
	return removed, nil
}

func volumeInUse(p *compose.Project, v Volume, c Container) error {
	berth, svc := "berth", c.Labels.Service()
	if project := c.Labels.Project(); project != p.Name {
		berth = "berth -p " + project
	}
	if c.Labels.OneOff() {
		return fmt.Errorf("volume %s is in use by container %s (a one-off container of service %s): remove the container first (%s down)", v.Name, c.Name, svc, berth)
	}
	return fmt.Errorf("volume %s is in use by container %s: remove the container first (%s rm -s %s, or %s down)", v.Name, c.Name, berth, svc, berth)
}

// VolumesMountedBy keeps the volumes of vols that a container of one of
// services mounts, as docker compose volumes SERVICE… lists them.
func VolumesMountedBy(vols []Volume, cs []Container, services []string) []Volume {
	mounted := map[string]bool{}
	for _, c := range cs {
		if slices.Contains(services, c.Labels.Service()) {
			for _, v := range c.Volumes {
				mounted[v] = true
			}
		}
	}
	var out []Volume
	for _, v := range vols {
		if mounted[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// anonVolumes names the volumes of s's anonymous mounts, by mount target,
// for a container that replaces old (nil for a new one): old's volume at
// the same target, as docker compose hands anonymous volumes on, unless
// renew; else a new name, 64 hex digits as Docker makes them.
func anonVolumes(s *compose.Service, old *Container, renew bool) map[string]string {
	var was map[string]string
	if old != nil && !renew {
		was = old.Labels.AnonVolumes()
	}
	var out map[string]string
	for _, m := range s.Mounts {
		if !m.Anonymous {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if name := was[m.Target]; name != "" {
			out[m.Target] = name
			continue
		}
		b := make([]byte, 32)
		rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
		out[m.Target] = hex.EncodeToString(b)
	}
	return out
}
