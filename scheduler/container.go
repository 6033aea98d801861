package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/berth/berth/compose"
)

// NameConflictError is docker's refusal of a container name already in
// use, word for word (scripts match it).
type NameConflictError struct {
	Name, ID string
}

func (e *NameConflictError) Error() string {
	return fmt.Sprintf("Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.", "/"+e.Name, e.ID)
}

// ContainerID is a container's Docker-style ID: the one a plain container
// was given (compose.LabelContainerID), else one derived from its name,
// so that every container, a compose project's too, has a stable one.
func ContainerID(c Container) string {
	if id := c.Labels[compose.LabelContainerID]; id != "" {
		return id
	}
	sum := sha256.Sum256([]byte(c.ID))
	return hex.EncodeToString(sum[:])
}

// FindContainer finds the container ref names among cs, as docker does:
// by its name (with or without docker's leading "/"), its full ID, or an
// unambiguous prefix of its ID. It says so when none or several match.
func FindContainer(cs []Container, ref string) (Container, error) {
	ref = strings.TrimPrefix(ref, "/")
	var byPrefix []Container
	for _, c := range cs {
		if c.Name == ref || ContainerID(c) == ref {
			return c, nil
		}
		if ref != "" && strings.HasPrefix(ContainerID(c), ref) {
			byPrefix = append(byPrefix, c)
		}
	}
	switch len(byPrefix) {
	case 1:
		return byPrefix[0], nil
	case 0:
		return Container{}, fmt.Errorf("No such container: %s", ref)
	}
	return Container{}, fmt.Errorf("multiple IDs found with provided prefix: %s", ref)
}

// CreateContainer creates, without starting it, the plain container of p,
// a one-service project that compose.ContainerProject made: after
// checking its name is free on the machine (docker's Conflict error),
// its image is made present (pulled when missing), its networks made (and
// the project daemon that supervises it started), and the container
// created. It never looks at the project's other containers: no orphans,
// no recreation. A failure leaves nothing of the container behind.
func CreateContainer(ctx context.Context, p *compose.Project, rt Runtime, nw Network, ev Events) (Container, error) {
	if len(p.Services) != 1 {
		return Container{}, fmt.Errorf("a plain container is a project of one service, not %d", len(p.Services))
	}
	if ev == nil {
		ev = Discard
	}
	s := p.Services[0]
	name := s.ContainerNameFor(1)
	all, err := rt.Containers(ctx, "")
	if err != nil {
		return Container{}, err
	}
	for _, c := range all {
		if c.Name == name || c.ID == name {
			return Container{}, &NameConflictError{Name: name, ID: ContainerID(c)}
		}
	}
	ex := &Executor{Project: p, Runtime: rt, Network: nw, Events: ev, NoStart: true}
	// The image first: a missing one must not leave a network or a
	// project daemon behind.
	if err := ex.run(ctx, Op{Kind: OpEnsureImage, Service: s.Name, Name: s.ImageName()}); err != nil {
		return Container{}, err
	}
	if err := nw.EnsureNetworks(ctx, p); err != nil {
		return Container{}, err
	}
	c, err := ex.createContainer(ctx, Op{Kind: OpCreate, Service: s.Name, Name: name, Number: 1, Reason: "run"})
	if err != nil {
		return Container{}, releaseVolumes(ctx, rt, err)
	}
	return c, nil
}
