package runstate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "goroutines")
	if err := writeGoroutines(path); err != nil {
		t.Fatalf("writeGoroutines: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "goroutine profile: total ") {
		t.Errorf("goroutines file starts %q, want the profile's total line", strings.SplitN(string(b), "\n", 2)[0])
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
}
