package build

import (
	"context"
	"errors"
	"testing"

	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/errdefs"
)

// fakeLeases records the leases made and deleted.
type fakeLeases struct {
	made    []leases.Lease
	deleted []string
	failed  error
}

func (f *fakeLeases) Create(_ context.Context, opts ...leases.Opt) (leases.Lease, error) {
	if f.failed != nil {
		return leases.Lease{}, f.failed
	}
	var l leases.Lease
	for _, o := range opts {
		if err := o(&l); err != nil {
			return leases.Lease{}, err
		}
	}
	f.made = append(f.made, l)
	return l, nil
}

func (f *fakeLeases) Delete(_ context.Context, l leases.Lease, _ ...leases.DeleteOpt) error {
	f.deleted = append(f.deleted, l.ID)
	return nil
}

func TestBuildLease(t *testing.T) {
	owner := BuildOwner{PID: 42, Start: 7, Build: "ab"}
	tests := []struct {
		name string
		// outer is the lease the caller's context names already; ensures
		// is how many times the build needs one.
		outer   string
		ensures int
		// wantMade and wantDeleted are the leases made and deleted.
		wantMade, wantDeleted int
	}{
		{name: "all from the cache: no lease", ensures: 0},
		{name: "a step runs: one lease", ensures: 1, wantMade: 1, wantDeleted: 1},
		{name: "steps and the image: still one", ensures: 3, wantMade: 1, wantDeleted: 1},
		{name: "under an index's lease: its own", outer: "index", ensures: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := &fakeLeases{}
			ctx := context.Background()
			if tt.outer != "" {
				ctx = leases.WithLease(ctx, tt.outer)
			}
			l, lctx := newBuildLease(ctx, ls, owner)
			id, ok := leases.FromContext(lctx)
			if !ok || id != l.id || tt.outer != "" && id != tt.outer {
				t.Fatalf("the build's context names lease %q (%v), want %q", id, ok, l.id)
			}
			for range tt.ensures {
				if err := l.ensure(lctx); err != nil {
					t.Fatalf("ensure: %v", err)
				}
			}
			if err := l.release(lctx); err != nil {
				t.Fatalf("release: %v", err)
			}
			if len(ls.made) != tt.wantMade || len(ls.deleted) != tt.wantDeleted {
				t.Fatalf("made %v, deleted %v; want %d made, %d deleted", ls.made, ls.deleted, tt.wantMade, tt.wantDeleted)
			}
			for _, m := range ls.made {
				if m.ID != id || m.Labels[LabelOwner] != owner.String() || m.Labels[leasePurpose] != "build" || m.Labels["containerd.io/gc.expire"] == "" {
					t.Errorf("lease made = %+v, want ID %q with the owner, purpose and expiry labels", m, id)
				}
			}
			if len(ls.deleted) > 0 && ls.deleted[0] != id {
				t.Errorf("deleted %v, want %q", ls.deleted, id)
			}
		})
	}
}

func TestBuildLeaseFailure(t *testing.T) {
	ls := &fakeLeases{failed: errdefs.ErrUnavailable}
	l, ctx := newBuildLease(context.Background(), ls, BuildOwner{PID: 1, Start: 1, Build: "x"})
	if err := l.ensure(ctx); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("ensure = %v, want the lease service's error", err)
	}
	// Not made: nothing to delete, and the next ensure tries again.
	if err := l.release(ctx); err != nil || len(ls.deleted) != 0 {
		t.Fatalf("release = %v, deleted %v; want nothing deleted", err, ls.deleted)
	}
	ls.failed = nil
	if err := l.ensure(ctx); err != nil || len(ls.made) != 1 {
		t.Fatalf("ensure after a failure = %v, made %v; want one lease", err, ls.made)
	}
}
