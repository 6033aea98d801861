package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// fakePusher records pushes and fails those of the names in fail.
type fakePusher struct {
	mu     sync.Mutex
	fail   map[string]bool
	pushed []string
}

func (f *fakePusher) Push(_ context.Context, image string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[image] {
		return "", errors.New("connection refused")
	}
	f.pushed = append(f.pushed, image)
	return "sha256:x", nil
}

type recordedEvents struct{ events []scheduler.Event }

func (r *recordedEvents) Emit(e scheduler.Event) { r.events = append(r.events, e) }

// TestPushServices: every name of a built service goes to its own
// registry, a failed one stops none of the others, and services without
// a build section are skipped.
func TestPushServices(t *testing.T) {
	services := []*compose.Service{
		{Name: "app", Image: "docker.io/me/app:1", Build: &compose.Build{Tags: []string{"127.0.0.1:5000/app:1", "127.0.0.1:6000/app:1"}}},
		{Name: "copy", Image: "docker.io/me/app:1", Build: &compose.Build{}},
		{Name: "db", Image: "postgres:16"},
		{Name: "local", Build: &compose.Build{}},
	}
	for _, ignore := range []bool{false, true} {
		f := &fakePusher{fail: map[string]bool{"docker.io/me/app:1": true}}
		ev := &recordedEvents{}
		var errOut bytes.Buffer
		err := pushServices(context.Background(), f, ev, services, ignore, &errOut)
		slices.Sort(f.pushed)
		if want := []string{"127.0.0.1:5000/app:1", "127.0.0.1:6000/app:1"}; !slices.Equal(f.pushed, want) {
			t.Errorf("ignore=%v: pushed %v, want %v", ignore, f.pushed, want)
		}
		switch {
		case !ignore && (err == nil || !strings.Contains(err.Error(), `service "app"`)):
			t.Errorf("pushServices = %v, want the failure of app's image", err)
		case ignore && (err != nil || !strings.Contains(errOut.String(), "connection refused")):
			t.Errorf("ignore: pushServices = %v, warnings %q; want nil and a warning", err, errOut.String())
		}
		var skipped []string
		for _, e := range ev.events {
			if e.Text == "Skipped" {
				skipped = append(skipped, e.Name)
			}
		}
		if want := []string{"copy", "db", "local"}; !slices.Equal(skipped, want) {
			t.Errorf("skipped %v, want %v", skipped, want)
		}
	}
}
