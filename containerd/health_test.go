package containerd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// TestHealthFile: a probe kept by RecordProbe shows in the container's
// health as readers see it (over its label), once the labels hold a
// health of the run; a run whose labels hold none (cleared at its start)
// shows none, whatever file an earlier run left.
func TestHealthFile(t *testing.T) {
	c := &Client{runDir: t.TempDir(), namespace: "berth"}
	sc := scheduler.Container{ID: "demo-db-1", Name: "demo-db-1"}
	h := scheduler.Health{Status: scheduler.HealthHealthy, Log: []scheduler.ProbeResult{{ExitCode: 0, Output: "second"}}}
	if err := c.RecordProbe(context.Background(), sc, h); err != nil {
		t.Fatal(err)
	}
	labelled := map[string]string{compose.LabelHealth: `{"Status":"healthy","FailingStreak":0,"Log":[{"ExitCode":0,"Output":"first"}]}`, "other": "kept"}
	got, ok := scheduler.HealthOf(c.latestHealth(sc.ID, labelled))
	if !ok || len(got.Log) != 1 || got.Log[0].Output != "second" {
		t.Errorf("health read = %+v, %v; want the probe kept in the file", got, ok)
	}
	if l := c.latestHealth(sc.ID, labelled); l["other"] != "kept" || labelled[compose.LabelHealth] == l[compose.LabelHealth] {
		t.Errorf("latestHealth changed the labels given or lost one: %v", l)
	}
	if _, ok := scheduler.HealthOf(c.latestHealth(sc.ID, map[string]string{compose.LabelHealth: ""})); ok {
		t.Error("a run without a health in its labels shows the file of an earlier run")
	}
	if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(c.healthPath(sc.ID)), "*.tmp")); len(tmp) != 0 {
		t.Errorf("left %v", tmp)
	}
	if _, err := os.Stat(c.healthPath(sc.ID)); err != nil {
		t.Errorf("no health file: %v", err)
	}
}
