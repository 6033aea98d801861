package build

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
)

func firstRun(t *testing.T, dockerfile string) *instructions.RunCommand {
	t.Helper()
	df, err := ParseDockerfileBytes("Dockerfile", []byte(dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range df.Stages[0].Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			return r
		}
	}
	t.Fatal("no RUN")
	return nil
}

func TestRunArgv(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		shell            []string
		want             []string
		wantErr          string
	}{
		{"shell form", "FROM scratch\nRUN echo hi && true\n", nil, []string{"/bin/sh", "-c", "echo hi && true"}, ""},
		{"exec form", "FROM scratch\nRUN [\"echo\", \"a b\"]\n", nil, []string{"echo", "a b"}, ""},
		{"SHELL", "FROM scratch\nRUN echo hi\n", []string{"/bin/bash", "-xc"}, []string{"/bin/bash", "-xc", "echo hi"}, ""},
		{"heredoc script", "FROM scratch\nRUN <<EOF\necho one\necho two\nEOF\n", nil, []string{"/bin/sh", "-c", "echo one\necho two\n"}, ""},
		{"heredoc fed to a command", "FROM scratch\nRUN cat > /x <<EOF\nline\nEOF\n", nil, []string{"/bin/sh", "-c", "cat > /x <<EOF\nline\nEOF\n"}, ""},
		{"shebang heredoc", "FROM scratch\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n", nil, nil, "#! line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := NewStageState(dockerspec.DockerOCIImageConfig{}, nil, nil)
			st.Config.Shell = tt.shell
			got, err := runArgv(st, firstRun(t, tt.dockerfile))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("runArgv = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runArgv = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRunEnv(t *testing.T) {
	st := NewStageState(dockerspec.DockerOCIImageConfig{}, nil, nil)
	st.Config.Env = []string{"A=image"}
	st.Args = map[string]string{"A": "arg", "B": "arg"}
	want := []string{"A=image", "B=arg", defaultPath}
	if got := runEnv(st); !reflect.DeepEqual(got, want) {
		t.Errorf("runEnv = %q, want %q (ENV wins over ARG; default PATH)", got, want)
	}
	st.Config.Env = []string{"PATH=/x"}
	if got := runEnv(st); got[0] != "PATH=/x" || len(got) != 3 {
		t.Errorf("runEnv with PATH = %q", got)
	}
}

func TestCacheIndexSharedAndSurvives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build", "cache.json")
	a, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openCache(path) // a second process
	if err != nil {
		t.Fatal(err)
	}
	e1 := CacheEntry{DiffID: digest.FromString("1"), Chain: digest.FromString("c1"), Created: time.Unix(1, 0).UTC()}
	e2 := CacheEntry{Empty: true, Created: time.Unix(2, 0).UTC()}
	always := func(CacheEntry) bool { return true }
	if _, err := a.put("k1", e1, always); err != nil {
		t.Fatal(err)
	}
	if _, err := b.put("k2", e2, always); err != nil { // must not lose k1
		t.Fatal(err)
	}
	// The same step built at the same time elsewhere: the first one wins.
	if got, err := b.put("k1", CacheEntry{Empty: true}, always); err != nil || !reflect.DeepEqual(got, e1) {
		t.Errorf("second put of k1 = %+v, %v; want the first entry", got, err)
	}
	// Unless the first one's layer is gone.
	gone := func(CacheEntry) bool { return false }
	if got, _ := b.put("k1", e1, gone); !reflect.DeepEqual(got, e1) {
		t.Errorf("replacing put = %+v", got)
	}
	// A step run again on purpose (--no-cache) replaces it, for this
	// process and those that read the index after.
	e3 := CacheEntry{DiffID: digest.FromString("3"), Chain: digest.FromString("c3"), Created: time.Unix(3, 0).UTC()}
	if err := b.set("k1", e3); err != nil {
		t.Fatal(err)
	}
	if got, ok := b.get("k1"); !ok || !reflect.DeepEqual(got, e3) {
		t.Errorf("k1 after set = %+v, %v; want %+v", got, ok, e3)
	}
	if fresh, err := openCache(path); err != nil {
		t.Fatal(err)
	} else if got, ok := fresh.get("k1"); !ok || !reflect.DeepEqual(got, e3) {
		t.Errorf("k1 after set = %+v, %v; want %+v", got, ok, e3)
	}
	if err := b.set("k1", e1); err != nil {
		t.Fatal(err)
	}
	c, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := c.get("k1"); !ok || !reflect.DeepEqual(got, e1) {
		t.Errorf("k1 = %+v, %v", got, ok)
	}
	if got, ok := c.get("k2"); !ok || !got.Empty {
		t.Errorf("k2 = %+v, %v", got, ok)
	}
	if err := c.drop("k1", "k2"); err != nil {
		t.Fatal(err)
	}
	d, _ := openCache(path)
	if len(d.all()) != 0 {
		t.Errorf("after drop: %v", d.all())
	}
	// A damaged index costs only rebuilds.
	os.WriteFile(path, []byte("{not json"), 0o600)
	if e, err := openCache(path); err != nil || len(e.all()) != 0 {
		t.Errorf("damaged index: %v, %v", e.all(), err)
	}
}

// TestHeartbeat: each tick reports the time since the step started, and
// closing done ends it.
func TestHeartbeat(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ticks, done, ended := make(chan time.Time), make(chan struct{}), make(chan struct{})
	var got []time.Duration
	go func() {
		defer close(ended)
		heartbeat(done, ticks, start, func(d time.Duration) { got = append(got, d) })
	}()
	ticks <- start.Add(30 * time.Second)
	ticks <- start.Add(time.Minute)
	close(done)
	<-ended
	if len(got) != 2 || got[0] != 30*time.Second || got[1] != time.Minute {
		t.Errorf("heartbeat reported %v, want [30s 1m0s]", got)
	}
}
