package main

import (
	"context"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

func TestContainersProjectRefused(t *testing.T) {
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	g := &globalOptions{projectName: compose.ContainersProject}
	if _, err := g.projectOrName(context.Background()); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("projectOrName(-p %s) = %v, want the refusal", compose.ContainersProject, err)
	}
	if _, err := g.loadProject(context.Background()); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("loadProject(-p %s) = %v, want the refusal", compose.ContainersProject, err)
	}
	t.Setenv("COMPOSE_PROJECT_NAME", compose.ContainersProject)
	if _, err := (&globalOptions{}).projectOrName(context.Background()); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("projectOrName(COMPOSE_PROJECT_NAME=%s) = %v, want the refusal", compose.ContainersProject, err)
	}
}

func TestContainerGlobals(t *testing.T) {
	g := &globalOptions{projectName: "shop", files: []string{"compose.yaml"}, progress: "tty"}
	c := scheduler.Container{Name: "web", Labels: compose.Labels{compose.LabelProject: compose.ContainersProject}}
	o := containerGlobals(g, c)
	p, err := o.projectOrName(context.Background())
	if err != nil || p.Name != compose.ContainersProject || !p.FromLabels {
		t.Errorf("projectOrName of a container's globals = %+v, %v; want %s from labels", p, err, compose.ContainersProject)
	}
	if o.progress != "quiet" || o.files != nil || g.projectName != "shop" || g.progress != "tty" {
		t.Errorf("globals = %+v (from %+v)", o, g)
	}
}
