package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func plainProject(t *testing.T, name string) *compose.Project {
	t.Helper()
	p, err := compose.ContainerProject(compose.ContainerOptions{Name: name, Image: "busybox", Publish: []string{"8080:80"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreateContainer(t *testing.T) {
	rt, nw := newFakeRuntime(), &fakeNetwork{}
	// Another plain container and a compose project's are left alone.
	rt.add(plainProject(t, "other"), "other", 1, StateRunning, "h")
	rt.add(project("web"), "web", 1, StateRunning, "h")
	p := plainProject(t, "api")
	c, err := CreateContainer(context.Background(), p, rt, nw, nil)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if c.Name != "api" || c.Labels.Project() != compose.ContainersProject || c.Labels.OneOff() {
		t.Errorf("created %+v", c)
	}
	if got, want := rt.callList(), "image api\ncreate api netns=/run/netns/berth-api dns=10.89.0.1"; got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	if !nw.networks[compose.ContainersProject] {
		t.Errorf("the networks of %s were not made", compose.ContainersProject)
	}
	if len(rt.containers) != 3 {
		t.Errorf("containers = %v, want the two others kept", rt.containers)
	}
}

func TestCreateContainerNameConflict(t *testing.T) {
	rt, nw := newFakeRuntime(), &fakeNetwork{}
	proj := project("web")
	rt.add(proj, "web", 1, StateExited, "h")
	taken := compose.ContainerName(proj.Name, "web", 1) // a compose container's name
	_, err := CreateContainer(context.Background(), plainProject(t, taken), rt, nw, nil)
	var conflict *NameConflictError
	if !errors.As(err, &conflict) || !strings.HasPrefix(err.Error(), `Conflict. The container name "/`+taken+`" is already in use by container "`) {
		t.Fatalf("CreateContainer = %v, want docker's conflict error", err)
	}
	if calls := rt.callList(); calls != "" || len(nw.networks) != 0 {
		t.Errorf("a refused name made something: calls %q, networks %v", calls, nw.networks)
	}
}

func TestCreateContainerImageFailsFirst(t *testing.T) {
	rt, nw := newFakeRuntime(), &fakeNetwork{}
	rt.failOn["image api"] = errors.New("pull access denied")
	_, err := CreateContainer(context.Background(), plainProject(t, "api"), rt, nw, nil)
	if err == nil || !strings.Contains(err.Error(), "pull access denied") {
		t.Fatalf("CreateContainer = %v, want the pull's error", err)
	}
	if len(nw.networks) != 0 || len(rt.containers) != 0 {
		t.Errorf("a missing image left networks %v, containers %v", nw.networks, rt.containers)
	}
}

func TestFindContainer(t *testing.T) {
	a := Container{ID: "alpha", Name: "alpha", Labels: compose.Labels{compose.LabelContainerID: "abc123" + strings.Repeat("0", 58)}}
	b := Container{ID: "beta", Name: "beta", Labels: compose.Labels{compose.LabelContainerID: "abd456" + strings.Repeat("0", 58)}}
	c := Container{ID: "p-web-1", Name: "p-web-1", Labels: compose.Labels{}}
	cs := []Container{a, b, c}
	tests := []struct {
		ref, want, err string
	}{
		{ref: "alpha", want: "alpha"},
		{ref: "/beta", want: "beta"},
		{ref: "abc", want: "alpha"},
		{ref: ContainerID(b), want: "beta"},
		{ref: ContainerID(c)[:12], want: "p-web-1"},
		{ref: "ab", err: "multiple IDs found with provided prefix: ab"},
		{ref: "gamma", err: "No such container: gamma"},
	}
	for _, tt := range tests {
		got, err := FindContainer(cs, tt.ref)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("FindContainer(%q) = %v, %v; want error %q", tt.ref, got.Name, err, tt.err)
			}
			continue
		}
		if err != nil || got.Name != tt.want {
			t.Errorf("FindContainer(%q) = %q, %v; want %q", tt.ref, got.Name, err, tt.want)
		}
	}
	if id := ContainerID(c); len(id) != 64 || id != ContainerID(c) {
		t.Errorf("ContainerID of a compose container = %q, want 64 stable digits", id)
	}
}
