package scheduler

import (
	"context"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

// TestUpPullsAlwaysFirst checks that up pulls the images of services with
// pull policy always before it plans, once each: an up-to-date container
// stays, one whose image the pull changed is recreated, and services up
// does not work on are not pulled.
func TestUpPullsAlwaysFirst(t *testing.T) {
	ctx := context.Background()
	p := project("db", "api<-db", "web")
	rt, nw := newFakeRuntime(), &fakeNetwork{}
	rt.images["db"], rt.images["api"], rt.images["web"] = "sha256:db1", "sha256:api1", "sha256:web1"
	if _, err := Up(ctx, p, rt, nw, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	p.OverridePullPolicy(compose.PullAlways)

	// Nothing changed upstream: pulled, nothing recreated.
	rt.calls = nil
	plan, err := Up(ctx, p, rt, nw, nil, UpOptions{ReconcileOptions: ReconcileOptions{Services: []string{"api"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.callList(); strings.Count(got, "image api") != 1 || strings.Count(got, "image db") != 1 || strings.Contains(got, "image web") {
		t.Errorf("up --pull always api: calls %s; want api and db pulled once, web not", got)
	}
	if plan.Changes() {
		t.Errorf("up with unchanged images changed things:\n%s", plan)
	}

	// db's image changed: db is recreated, with no second pull.
	rt.calls = nil
	rt.images["db"] = "sha256:db2"
	plan, err = Up(ctx, p, rt, nw, nil, UpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.callList(); strings.Count(got, "image db") != 1 {
		t.Errorf("calls %s; want db pulled once", got)
	}
	if s := plan.String(); !strings.Contains(s, "db: recreate demo-db-1 (image changed)") || strings.Contains(s, "ensure-image") || strings.Contains(s, "recreate demo-api-1") {
		t.Errorf("plan:\n%s", s)
	}
}
