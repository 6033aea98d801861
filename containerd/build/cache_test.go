package build

import (
	"path/filepath"
	"testing"
	"time"
)

func TestCacheGetSeesOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.json")
	// Two builders: a long-lived one, and another process's.
	mine, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mine.get("step"); ok {
		t.Fatal("get(step) found an entry in an empty index")
	}
	want := CacheEntry{Empty: true, Created: time.Unix(1700000000, 0).UTC()}
	if _, err := theirs.put("step", want, func(CacheEntry) bool { return true }); err != nil {
		t.Fatal(err)
	}
	got, ok := mine.get("step")
	if !ok || !got.Created.Equal(want.Created) || !got.Empty {
		t.Fatalf("get(step) = %+v, %v after another builder recorded it; want %+v", got, ok, want)
	}
	if err := theirs.drop("step"); err != nil {
		t.Fatal(err)
	}
	// What it knows it keeps: usable() tells whether it is still there.
	if _, ok := mine.get("step"); !ok {
		t.Error("get(step) forgot an entry it had read")
	}
}
