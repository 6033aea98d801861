package build

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/errdefs"
)

// leaseManager is what a build needs of containerd's leases service.
type leaseManager interface {
	Create(ctx context.Context, opts ...leases.Opt) (leases.Lease, error)
	Delete(ctx context.Context, l leases.Lease, opts ...leases.DeleteOpt) error
}

// buildLease is the containerd lease that holds what one build makes
// until an image or the cache lease holds it, so that the collector
// cannot take it midway, and what a failed or interrupted build made goes
// with it. It is made only when the build first makes something (ensure):
// a build whose steps and image all exist already writes nothing to
// containerd's database, not even a lease. The build's context names it
// from the start, so that a write nobody ensured the lease for fails
// ("lease does not exist") instead of making something unleased.
type buildLease struct {
	ls     leaseManager
	id     string
	labels map[string]string

	mu sync.Mutex // guards following
	// made is set once the lease exists; owned when this build made it
	// (and so deletes it), not a caller's lease it runs under.
	made, owned bool
}

// leaseExpiry bounds the life of the lease of a build whose berth was
// killed before Reap could find it.
const leaseExpiry = 6 * time.Hour

// newBuildLease returns the lease of a build owned by owner and a context
// that names it. A context that names a lease already (the builds of the
// platforms of an index run under the index's) keeps it: it exists, and
// is its maker's to delete.
func newBuildLease(ctx context.Context, ls leaseManager, owner BuildOwner) (*buildLease, context.Context) {
	if id, ok := leases.FromContext(ctx); ok {
		return &buildLease{ls: ls, id: id, made: true}, ctx
	}
	l := &buildLease{ls: ls, id: "berth-build-" + randomID(), labels: map[string]string{LabelOwner: owner.String(), leasePurpose: "build"}}
	return l, leases.WithLease(ctx, l.id)
}

// ensure makes the lease, unless it exists.
func (l *buildLease) ensure(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.made {
		return nil
	}
	if _, err := l.ls.Create(ctx, leases.WithID(l.id), leases.WithExpiration(leaseExpiry), leases.WithLabels(l.labels)); err != nil {
		return fmt.Errorf("build: lease: %w", err)
	}
	l.made, l.owned = true, true
	return nil
}

// release deletes the lease if this build made it.
func (l *buildLease) release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.owned {
		return nil
	}
	if err := l.ls.Delete(ctx, leases.Lease{ID: l.id}); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("build: delete lease: %w", err)
	}
	l.made, l.owned = false, false
	return nil
}
