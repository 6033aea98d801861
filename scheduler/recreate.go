package scheduler

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/berth/berth/compose"
)

// ObservedNetwork is one of a project's networks as the network layer made
// it: the config hash it was made with ("" when an older berth made it:
// then it is never taken for changed) and the containers on it.
type ObservedNetwork struct {
	Name       string
	ConfigHash string
	Containers []string
}

// NetworkObserver is a network layer that remembers the configuration of
// the networks it made, and removes one of them: what up needs to act on
// a network whose configuration changed.
type NetworkObserver interface {
	// ObserveNetworks lists the networks the project made.
	ObserveNetworks(ctx context.Context, project string) ([]ObservedNetwork, error)
	// RemoveNetwork removes one network of the project, which no
	// container is on any more. A missing network is not an error.
	RemoveNetwork(ctx context.Context, project, name string) error
}

// Confirm asks the user a yes/no question; up asks before it recreates a
// volume, whose data is lost.
type Confirm func(question string) (bool, error)

// DivergedVolumes are the project's named volumes (not external ones) that
// its services mount and that exist with another configuration than the
// file declares: their config-hash label differs from compose.VolumeHash.
// Volumes an older berth made carry no hash and never differ. Sorted by name.
func DivergedVolumes(p *compose.Project, vols []Volume) []compose.Volume {
	mounted := map[string]bool{}
	for _, s := range p.Services {
		for _, m := range s.Mounts {
			if m.Type == compose.MountVolume {
				mounted[m.Source] = true
			}
		}
	}
	var out []compose.Volume
	for _, v := range p.Volumes {
		if v.External || !mounted[v.Name] {
			continue
		}
		for _, have := range vols {
			if have.Name == v.Name && have.Labels.ConfigHash() != "" && have.Labels.ConfigHash() != compose.VolumeHash(v) {
				out = append(out, v)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// confirmVolumes decides, for each volume whose configuration changed,
// whether up recreates it: with the user's consent (ask), as docker compose
// asks. Without a way to ask (nil), up fails rather than keep a volume the
// file no longer describes, saying what to do. A volume another project's
// container uses is not recreated.
func confirmVolumes(ctx context.Context, p *compose.Project, vr VolumeRuntime, ask Confirm) ([]string, error) {
	vols, err := vr.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	diverged := DivergedVolumes(p, vols)
	if len(diverged) == 0 {
		return nil, nil
	}
	all, err := vr.Containers(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range diverged {
		key := volumeKey(p, v.Name)
		for _, c := range VolumeUsers(all, v.Name) {
			if c.Labels.Project() != p.Name {
				return nil, fmt.Errorf("volume %q (%s) exists with a different configuration than the compose file declares, and container %s of project %s uses it: it cannot be recreated; restore its configuration or remove that container first", key, v.Name, c.Name, c.Labels.Project())
			}
		}
		if ask == nil {
			return nil, fmt.Errorf("volume %q (%s) exists with a different configuration than the compose file declares (driver, driver_opts or labels): run up with -y to recreate it (its data will be lost), or remove it first (berth down -v)", key, v.Name)
		}
		yes, err := ask(fmt.Sprintf("Volume %q exists but doesn't match configuration in compose file. Recreate (data will be lost)?", v.Name))
		if err != nil {
			return nil, err
		}
		if yes {
			out = append(out, v.Name)
		}
	}
	return out, nil
}

func volumeKey(p *compose.Project, name string) string {
	for key, v := range p.Volumes {
		if v.Name == name {
			return key
		}
	}
	return name
}

// recreateResources plans what makes networks and volumes whose
// configuration changed match the file again, as docker compose does: the
// containers on them are removed first (they are created again with the
// services), then the network or volume; the network is made again with
// the others, the volume by the first container that mounts it. It
// returns those ops, the containers they remove (which the services'
// plans must not count), and the services of those containers that the
// plan must bring back although up was not asked for them.
func recreateResources(p *compose.Project, observed []Container, services []string, opts ReconcileOptions) ([]Op, map[string]bool, []string, error) {
	type resource struct {
		op      Op
		members func(c Container) bool
	}
	var resources []resource
	seen := map[string]bool{}
	for _, name := range services {
		for _, sn := range p.Service(name).Networks {
			n, ok := p.Networks[sn.Key]
			if !ok || n.External || seen[n.Name] {
				continue
			}
			seen[n.Name] = true
			i := slices.IndexFunc(opts.Networks, func(o ObservedNetwork) bool { return o.Name == n.Name })
			if i < 0 || opts.Networks[i].ConfigHash == "" || opts.Networks[i].ConfigHash == compose.NetworkHash(n) {
				continue
			}
			on := opts.Networks[i]
			for _, c := range on.Containers {
				// One of the project's names that no container has is a
				// stale address, which removing the network drops.
				if !strings.HasPrefix(c, p.Name+"-") && !slices.ContainsFunc(observed, func(o Container) bool { return o.Name == c }) {
					return nil, nil, nil, fmt.Errorf("network %q (%s) exists with a different configuration than the compose file declares, and container %s, not of project %s, is on it: it cannot be recreated; restore its configuration or remove that container first", sn.Key, n.Name, c, p.Name)
				}
			}
			resources = append(resources, resource{
				op:      Op{Kind: OpRemoveNetwork, Name: n.Name, Reason: "configuration changed"},
				members: func(c Container) bool { return slices.Contains(on.Containers, c.Name) },
			})
		}
	}
	for _, name := range opts.RecreateVolumes {
		resources = append(resources, resource{
			op:      Op{Kind: OpRemoveVolume, Name: name, Reason: "configuration changed"},
			members: func(c Container) bool { return slices.Contains(c.Volumes, name) },
		})
	}
	var ops, after []Op
	removed := map[string]bool{}
	var more []string
	for _, r := range resources {
		for i := range observed {
			c := &observed[i]
			if removed[c.Name] || !r.members(*c) {
				continue
			}
			removed[c.Name] = true
			ops = append(ops, Op{Kind: OpRemove, Service: c.Labels.Service(), Name: c.Name, Container: c, Reason: fmt.Sprintf("%s %s %s", strings.TrimPrefix(string(r.op.Kind), "remove-"), r.op.Name, "is recreated")})
			if svc := c.Labels.Service(); !c.Labels.OneOff() && p.Service(svc) != nil && !slices.Contains(services, svc) && !slices.Contains(more, svc) {
				more = append(more, svc)
			}
		}
		after = append(after, r.op)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Name < ops[j].Name })
	sort.Strings(more)
	return append(ops, after...), removed, more, nil
}
