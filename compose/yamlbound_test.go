package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// laughs is a "billion laughs" compose file: nine levels of aliases of
// nine references each, 416 bytes that expand to 10^9 values.
const laughs = `x-lol: &lol "lol"
x-l1: &l1 [*lol,*lol,*lol,*lol,*lol,*lol,*lol,*lol,*lol]
x-l2: &l2 [*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1]
x-l3: &l3 [*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2]
x-l4: &l4 [*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3]
x-l5: &l5 [*l4,*l4,*l4,*l4,*l4,*l4,*l4,*l4,*l4]
x-l6: &l6 [*l5,*l5,*l5,*l5,*l5,*l5,*l5,*l5,*l5]
x-l7: &l7 [*l6,*l6,*l6,*l6,*l6,*l6,*l6,*l6,*l6]
x-l8: &l8 [*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7]
x-l9: &l9 [*l8,*l8,*l8,*l8,*l8,*l8,*l8,*l8,*l8]
services:
  a:
    image: busybox
    command: *l9
`

// deep nests n flow sequences around a scalar.
func deep(n int) string {
	return "services:\n  a:\n    image: busybox\nx-deep: " + strings.Repeat("[", n) + "1" + strings.Repeat("]", n) + "\n"
}

// reused is a legitimate file: one anchor merged into many services.
func reused(services int) string {
	var b strings.Builder
	b.WriteString("x-common: &common\n  image: busybox\n  environment: {A: '1', B: '2', C: '3'}\n  labels: [a=1, b=2]\nservices:\n")
	for i := range services {
		fmt.Fprintf(&b, "  s%d:\n    <<: *common\n", i)
	}
	return b.String()
}

func TestYAMLBounds(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error; none: loads
	}{
		{"billion laughs", laughs, []string{"compose.yaml line", "alias *", "expand too far", "25000 nodes"}},
		{"self reference", "services:\n  a: &a\n    image: busybox\n    labels: {x: *a}\n", []string{"compose.yaml line 4", "alias *a", "refers to the value it is part of"}},
		{"too deep", deep(MaxYAMLDepth + 5), []string{"compose.yaml line 4", "more than 100 levels"}},
		{"deep alias", "x-a: &a " + strings.Repeat("[", 60) + "1" + strings.Repeat("]", 60) + "\nx-b: &b [" + strings.Repeat("[", 50) + "*a" + strings.Repeat("]", 50) + "]\nservices:\n  a:\n    image: busybox\n", []string{"compose.yaml line 2", "alias *a", "more than 100 levels"}},
		{"anchors merged into 300 services", reused(300), nil},
		{"nesting of 40", deep(40), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "compose.yaml")
			if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(context.Background(), Options{Files: []string{file}})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load = %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Load = nil error, want one")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error has several lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Load error = %q, want it to mention %q", msg, w)
				}
			}
		})
	}
}

// TestYAMLBoundsIncluded checks that a file reached through include: is
// bounded too, not only the files named with -f.
func TestYAMLBoundsIncluded(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "laughs.yaml"), []byte(laughs), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte("include: [laughs.yaml]\nservices:\n  b:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), Options{Files: []string{file}, ProjectDir: dir})
	if !errors.Is(err, ErrYAMLTooLarge) || !strings.Contains(err.Error(), "laughs.yaml line") {
		t.Fatalf("Load = %v, want ErrYAMLTooLarge naming laughs.yaml", err)
	}
}

// TestYAMLBoundAtLimit checks that a file just under the bound loads (in
// reasonable time: the bound is what keeps compose-go's expansion cheap).
func TestYAMLBoundAtLimit(t *testing.T) {
	// x-l4 holds 9^4 = 6561 values, and *l4 as many more: under MaxAliasNodes.
	content := strings.SplitAfter(laughs, "\n")
	under := strings.Join(content[:5], "") + "x-use: *l4\nservices:\n  a:\n    image: busybox\n"
	if err := CheckYAMLBounds("under.yaml", []byte(under)); err != nil {
		t.Fatalf("CheckYAMLBounds(9^4 values) = %v, want nil", err)
	}
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte(under), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), Options{Files: []string{file}}); err != nil {
		t.Fatalf("Load(9^4 values) = %v, want nil", err)
	}
	over := strings.Join(content[:6], "") + "services:\n  a:\n    image: busybox\n    command: *l5\n"
	if err := CheckYAMLBounds("over.yaml", []byte(over)); !errors.Is(err, ErrYAMLTooLarge) {
		t.Fatalf("CheckYAMLBounds(9^5 values) = %v, want ErrYAMLTooLarge", err)
	}
}

// TestYAMLBoundsStdin checks -f -: the file read from standard input is
// bounded too, and a good one still reaches compose-go whole.
func TestYAMLBoundsStdin(t *testing.T) {
	for _, tt := range []struct {
		content string
		wantErr bool
	}{{laughs, true}, {"services:\n  a:\n    image: busybox\n", false}} {
		f, err := os.CreateTemp(t.TempDir(), "stdin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(tt.content); err != nil {
			t.Fatal(err)
		}
		f.Seek(0, 0)
		old := os.Stdin
		os.Stdin = f
		p, err := Load(context.Background(), Options{Files: []string{"-"}, ProjectName: "x", ProjectDir: t.TempDir()})
		os.Stdin = old
		f.Close()
		if tt.wantErr {
			if !errors.Is(err, ErrYAMLTooLarge) || !strings.Contains(err.Error(), "standard input line") {
				t.Errorf("Load(-f - of billion laughs) = %v, want ErrYAMLTooLarge naming standard input", err)
			}
			continue
		}
		if err != nil || p.Service("a") == nil {
			t.Errorf("Load(-f - of a good file) = %v, %v", p, err)
		}
		if os.Stdin != old {
			t.Error("os.Stdin not restored")
		}
	}
}
