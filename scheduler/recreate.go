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
func confirmVolumes(ctx context.Context, p *compose.Project, vr volumeObserver, ask Confirm) ([]string, error) {
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

// fate is what recreateResources does to a container on a network or
// volume that is made again.
type fate int

const (
	keptContainer fate = iota
	// removedContainer is removed (it mounts a recreated volume, or is a
	// one-off or orphan on a recreated network): the services' plans
	// make it again.
	removedContainer
	// stoppedContainer is kept, stopped and taken off its networks while
	// its network is made again, then put back on them: the services'
	// plans start it again.
	stoppedContainer
)

// recreateResources plans what makes networks and volumes whose
// configuration changed match the file again, as docker compose does.
// A network: the containers on it are stopped and taken off it, it is
// removed, made again with the others, and the same containers are put
// back on it (the services' plans start them: they are not recreated).
// A volume: the containers that mount it are removed first (they are
// created again with the services), then the volume, which the first
// container that mounts it makes again. It returns the ops that run
// before the networks are made, those that run after (reconnect), what
// happens to each container touched (which the services' plans must
// take into account), and the services of those containers that the plan
// must bring back although up was not asked for them.
func recreateResources(p *compose.Project, observed []Container, services []string, opts ReconcileOptions) (before, after []Op, touched map[string]fate, more []string, _ error) {
	type network struct {
		name    string
		members []string
	}
	var networks []network
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
					return nil, nil, nil, nil, fmt.Errorf("network %q (%s) exists with a different configuration than the compose file declares, and container %s, not of project %s, is on it: it cannot be recreated; restore its configuration or remove that container first", sn.Key, n.Name, c, p.Name)
				}
			}
			networks = append(networks, network{name: n.Name, members: on.Containers})
		}
	}
	touched = map[string]fate{}
	bringBack := func(c *Container) {
		if svc := c.Labels.Service(); !slices.Contains(services, svc) && !slices.Contains(more, svc) {
			more = append(more, svc)
		}
	}
	// Volumes first: a container that mounts a recreated volume is
	// removed, whatever network it is on.
	var removes, stops, disconnects, reconnects, resources []Op
	for _, name := range opts.RecreateVolumes {
		for i := range observed {
			c := &observed[i]
			if touched[c.Name] != keptContainer || !slices.Contains(c.Volumes, name) {
				continue
			}
			touched[c.Name] = removedContainer
			removes = append(removes, Op{Kind: OpRemove, Service: c.Labels.Service(), Name: c.Name, Container: c, Reason: "volume " + name + " is recreated"})
			if !c.Labels.OneOff() && p.Service(c.Labels.Service()) != nil {
				bringBack(c)
			}
		}
	}
	for _, n := range networks {
		reason := "network " + n.name + " is recreated"
		for i := range observed {
			c := &observed[i]
			if !slices.Contains(n.members, c.Name) {
				continue
			}
			switch touched[c.Name] {
			case removedContainer:
				continue // its removal takes it off every network
			case stoppedContainer:
				continue // on several recreated networks: once is enough
			}
			if c.Labels.OneOff() || p.Service(c.Labels.Service()) == nil {
				// Neither a one-off nor an orphan is started again by up.
				touched[c.Name] = removedContainer
				removes = append(removes, Op{Kind: OpRemove, Service: c.Labels.Service(), Name: c.Name, Container: c, Reason: reason})
				continue
			}
			touched[c.Name] = stoppedContainer
			if c.State == StateRunning || c.State == StatePaused {
				stops = append(stops, Op{Kind: OpStop, Service: c.Labels.Service(), Name: c.Name, Container: c, Reason: reason})
			}
			disconnects = append(disconnects, Op{Kind: OpDisconnect, Service: c.Labels.Service(), Name: c.Name, Container: c, Reason: reason})
			reconnects = append(reconnects, Op{Kind: OpReconnect, Service: c.Labels.Service(), Name: c.Name, Container: c})
			bringBack(c)
		}
		resources = append(resources, Op{Kind: OpRemoveNetwork, Name: n.name, Reason: "configuration changed"})
	}
	for _, name := range opts.RecreateVolumes {
		resources = append(resources, Op{Kind: OpRemoveVolume, Name: name, Reason: "configuration changed"})
	}
	for _, ops := range [][]Op{removes, stops, disconnects, reconnects} {
		sort.Slice(ops, func(i, j int) bool { return ops[i].Name < ops[j].Name })
	}
	sort.Strings(more)
	return slices.Concat(removes, stops, disconnects, resources), reconnects, touched, more, nil
}
