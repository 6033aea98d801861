package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// shimRuntime is a fakeRuntime with a shim that up starts ahead: its
// Create waits until StartShim was called (or fails with failCreate).
type shimRuntime struct {
	*fakeRuntime
	smu        sync.Mutex // guards the fields below
	shimCalls  []string
	failCreate error
	shimUp     chan struct{}
}

func (r *shimRuntime) StartShim(_ context.Context, project string) error {
	r.smu.Lock()
	defer r.smu.Unlock()
	r.shimCalls = append(r.shimCalls, "start "+project)
	select {
	case <-r.shimUp:
	default:
		close(r.shimUp)
	}
	return nil
}

func (r *shimRuntime) DropShim(_ context.Context, project string) error {
	r.smu.Lock()
	defer r.smu.Unlock()
	r.shimCalls = append(r.shimCalls, "drop "+project)
	return nil
}

func (r *shimRuntime) Create(ctx context.Context, req CreateRequest) (Container, error) {
	select {
	case <-r.shimUp:
	case <-time.After(10 * time.Second):
		return Container{}, errors.New("the shim was not started ahead of the containers' creation")
	}
	if r.failCreate != nil {
		return Container{}, r.failCreate
	}
	return r.fakeRuntime.Create(ctx, req)
}

func (r *shimRuntime) calls() string {
	r.smu.Lock()
	defer r.smu.Unlock()
	return strings.Join(r.shimCalls, ", ")
}

// TestUpStartsShimAhead: up starts the shim of a project that has no
// container while it creates the first ones, not at their first start;
// and stops it again when a failed up leaves the project without any.
func TestUpStartsShimAhead(t *testing.T) {
	tests := []struct {
		name       string
		running    bool // the project has a container already
		noStart    bool
		failCreate error
		wantErr    string
		want       string
	}{
		{name: "fresh project", want: "start demo"},
		{name: "creation failed", failCreate: errors.New("no space left"), wantErr: "no space left", want: "start demo, drop demo"},
		{name: "no start", noStart: true, want: ""},
		{name: "project has containers", running: true, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("db", "web<-db")
			r := &shimRuntime{fakeRuntime: newFakeRuntime(), failCreate: tt.failCreate, shimUp: make(chan struct{})}
			if tt.running || tt.noStart {
				close(r.shimUp) // no shim start to wait for
			}
			if tt.running {
				r.add(p, "db", 1, StateRunning, "h-db")
			}
			_, err := Up(context.Background(), p, r, &fakeNetwork{}, nil, UpOptions{NoStart: tt.noStart})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Up = %v, want error %q", err, tt.wantErr)
			}
			if got := r.calls(); got != tt.want {
				t.Errorf("shim calls %q, want %q", got, tt.want)
			}
		})
	}
}
