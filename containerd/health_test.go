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
	// Record makes the file with the run's first health; RecordProbe
	// rewrites it.
	if err := c.writeHealth(sc.ID, []byte(`{"Status":"healthy","FailingStreak":0,"Log":[]}`)); err != nil {
		t.Fatal(err)
	}
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

// TestHealthFileRemoved: once a removal took a container's health file, a
// probe of it that ends later does not make the file again (a down would
// leave it behind).
func TestHealthFileRemoved(t *testing.T) {
	c := &Client{runDir: t.TempDir(), namespace: "berth"}
	sc := scheduler.Container{ID: "demo-db-1", Name: "demo-db-1"}
	h := scheduler.Health{Status: scheduler.HealthHealthy}
	if err := c.writeHealth(sc.ID, []byte(`{"Status":"healthy","FailingStreak":0,"Log":[]}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.removeHealth(sc.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordProbe(context.Background(), sc, h); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.healthPath(sc.ID)); !os.IsNotExist(err) {
		t.Errorf("a probe after the removal made the health file again: %v", err)
	}
	if err := c.removeHealth(sc.ID); err != nil {
		t.Errorf("removeHealth of a file that is gone: %v", err)
	}
}

// TestHealthFileInPlace: the health file is rewritten in place (the same
// file, no rename: on ext4 a rename over it is a disk write per probe),
// a shorter health after a longer one reads back whole, and what a
// reader may find while a write is under way is refused, not misread.
func TestHealthFileInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "health", "demo-db-1.json")
	long := []byte(`{"Status":"healthy","FailingStreak":0,"Log":[{"ExitCode":0,"Output":"a long output"}]}`)
	short := []byte(`{"Status":"healthy","FailingStreak":0,"Log":[]}`)
	if err := writeHealthFile(path, long); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeHealthFile(path, short); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the health file was replaced, not rewritten in place")
	}
	if after.Size() != before.Size() {
		t.Errorf("size %d after a shorter health, want %d (padded)", after.Size(), before.Size())
	}
	if got, ok := readHealthFile(path); !ok || string(got) != string(short) {
		t.Errorf("readHealthFile = %q, %v; want %q", got, ok, short)
	}

	whole := encodeHealthFile(short, 0)
	torn := append(append([]byte{}, whole[:len(whole)-10]...), encodeHealthFile(long, 0)[len(whole)-10:]...)
	for _, tc := range []struct {
		name string
		file []byte
		want string // "" when the file must be refused
	}{
		{"whole", whole, string(short)},
		{"padded", encodeHealthFile(short, 400), string(short)},
		{"plain JSON of an earlier berth", long, string(long)},
		{"new start, old end", torn, ""},
		{"cut short", whole[:len(whole)-1], ""},
		{"header only", whole[:len(healthFileMagic)+9], ""},
		{"empty", nil, ""},
		{"no header", []byte("garbage"), ""},
		{"length past the end", []byte(healthFileMagic + "00000000 99\n{}"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := decodeHealthFile(tc.file)
			if tc.want == "" && ok {
				t.Errorf("decodeHealthFile(%q) = %q, want it refused", tc.file, got)
			}
			if tc.want != "" && (!ok || string(got) != tc.want) {
				t.Errorf("decodeHealthFile(%q) = %q, %v; want %q", tc.file, got, ok, tc.want)
			}
		})
	}
}
