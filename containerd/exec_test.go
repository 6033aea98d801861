package containerd

import (
	"context"
	"errors"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
)

// fakeProcess is a process whose output is copied at once.
type fakeProcess struct{ containerd.Process }

func (fakeProcess) IO() cio.IO { return fakeIO{} }

type fakeIO struct{ cio.IO }

func (fakeIO) Wait() {}

func TestWaitProcess(t *testing.T) {
	tests := []struct {
		name     string
		exits    bool // the process exits by itself
		cancel   bool // ctx ends first
		stopErr  error
		wantCode int
		wantErr  error
		stopped  bool
	}{
		{name: "exits", exits: true, wantCode: 3},
		{name: "stopped when ctx ends", cancel: true, wantCode: 137, stopped: true},
		{name: "stop fails", cancel: true, stopErr: errors.New("still running"), wantCode: -1, wantErr: errors.New("still running"), stopped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			exit := make(chan containerd.ExitStatus, 1)
			if tt.exits {
				exit <- *containerd.NewExitStatus(3, time.Time{}, nil)
			}
			if tt.cancel {
				cancel()
			}
			stopped := false
			stop := func() error {
				stopped = true
				if tt.stopErr != nil {
					return tt.stopErr
				}
				exit <- *containerd.NewExitStatus(137, time.Time{}, nil)
				return nil
			}
			code, err := waitProcess(ctx, fakeProcess{}, exit, stop)
			if code != tt.wantCode || (err == nil) != (tt.wantErr == nil) || err != nil && err.Error() != tt.wantErr.Error() || stopped != tt.stopped {
				t.Errorf("waitProcess = %d, %v (stopped: %v), want %d, %v (stopped: %v)", code, err, stopped, tt.wantCode, tt.wantErr, tt.stopped)
			}
		})
	}
}
