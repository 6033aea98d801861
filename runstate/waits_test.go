package runstate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestAwaited(t *testing.T) {
	run := t.TempDir()
	if got := Awaited(run, "demo"); len(got) != 0 {
		t.Fatalf("Awaited with no record = %v, want none", got)
	}
	release, err := AnnounceWait(run, "demo", os.Getpid(), []string{"db", "cache"})
	if err != nil {
		t.Fatal(err)
	}
	// A process that is gone: pid_max is never a pid.
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skipf("no pid_max: %v", err)
	}
	dead := strings.TrimSpace(string(b))
	stale := filepath.Join(waitsDir(run, "demo"), dead)
	if err := os.WriteFile(stale, []byte("web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"db": true, "cache": true}
	if got := Awaited(run, "demo"); !reflect.DeepEqual(got, want) {
		t.Errorf("Awaited = %v, want %v (the dead process's record left out)", got, want)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the dead process's record is still there (%v)", err)
	}
	if got := Awaited(run, "other"); len(got) != 0 {
		t.Errorf("Awaited of another project = %v, want none", got)
	}
	release()
	release()
	if got := Awaited(run, "demo"); len(got) != 0 {
		t.Errorf("Awaited after release = %v, want none", got)
	}
	if _, err := os.Stat(waitsDir(run, "demo")); !os.IsNotExist(err) {
		t.Errorf("the waits directory outlived its last record (%v)", err)
	}
}

func TestAnnounceWaitNothing(t *testing.T) {
	run := t.TempDir()
	release, err := AnnounceWait(run, "demo", os.Getpid(), nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := os.Stat(filepath.Join(run, "projects")); !os.IsNotExist(err) {
		t.Errorf("announcing no service made %s (%v)", filepath.Join(run, "projects"), err)
	}
}
