package main

import (
	"os"
	"testing"
)

// TestBrokenOutput: a pipe whose reading end is closed is broken; one
// still read, and a regular file, are not.
func TestBrokenOutput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if brokenOutput(int(w.Fd()), int(f.Fd())) {
		t.Errorf("a pipe with a reader and a file: reported broken")
	}
	r.Close()
	if !brokenOutput(int(f.Fd()), int(w.Fd())) {
		t.Errorf("a pipe without a reader: not reported broken")
	}
}
