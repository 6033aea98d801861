package scheduler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func volumeProject() *compose.Project {
	return &compose.Project{Name: "demo", Volumes: map[string]compose.Volume{
		"data":   {Name: "demo_data"},
		"named":  {Name: "custom-name"},
		"ext":    {Name: "shared", External: true},
		"future": {Name: "demo_future"},
	}}
}

func labelled(name, project, key string) Volume {
	return Volume{Name: name, Driver: "local", Labels: compose.Labels{compose.LabelProject: project, compose.LabelVolume: key}}
}

var allVolumes = []Volume{
	labelled("demo_data", "demo", "data"),
	labelled("custom-name", "demo", "named"),
	labelled("demo_gone", "demo", "gone"), // no longer in the file
	labelled("demo_x_cache", "demo_x", "cache"),
	labelled("other_data", "other", "data"),
	{Name: "demo_old", Driver: "local"},  // an older berth's: no labels
	{Name: "shared", Driver: "local"},    // external
	{Name: "unrelated", Driver: "local"}, // neither
}

func names(vs []Volume) string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return strings.Join(out, ",")
}

func TestProjectVolumes(t *testing.T) {
	if got, want := names(ProjectVolumes(volumeProject(), allVolumes)), "custom-name,demo_data,demo_gone,demo_old"; got != want {
		t.Errorf("ProjectVolumes = %s, want %s", got, want)
	}
	// Known by name only (no compose file): the labels tell.
	if got, want := names(ProjectVolumes(&compose.Project{Name: "demo"}, allVolumes)), "custom-name,demo_data,demo_gone,demo_old"; got != want {
		t.Errorf("ProjectVolumes by name = %s, want %s", got, want)
	}
}

func TestResolveVolume(t *testing.T) {
	byName := &compose.Project{Name: "demo"}
	tests := []struct {
		name string
		p    *compose.Project
		arg  string
		want string // the volume's name, or a part of the error
	}{
		{"compose key", volumeProject(), "data", "demo_data"},
		{"full name", volumeProject(), "demo_data", "demo_data"},
		{"key of a volume with name:", volumeProject(), "named", "custom-name"},
		{"key from the labels, no compose file", byName, "named", "custom-name"},
		{"key no longer in the file", volumeProject(), "gone", "demo_gone"},
		{"older volume by key", byName, "old", "demo_old"},
		{"older volume by name", byName, "demo_old", "demo_old"},
		{"external", volumeProject(), "ext", `volume "ext" is external (shared)`},
		{"declared, not made yet", volumeProject(), "future", `volume "future" (demo_future) of project demo does not exist yet: berth up creates it`},
		{"other project's", volumeProject(), "other_data", `"other_data" is no volume of project demo (its volumes: custom-name, demo_data, demo_gone, demo_old)`},
		{"unknown", volumeProject(), "nope", `no such volume: "nope" is no volume of project demo`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ResolveVolume(tt.p, ProjectVolumes(tt.p, allVolumes), tt.arg)
			got := v.Name
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("ResolveVolume(%q) = %q, want %q", tt.arg, got, tt.want)
			}
		})
	}
}

// volumeRuntime is a VolumeRuntime over lists.
type volumeRuntime struct {
	volumes    []Volume
	containers []Container
	removed    []string
	failOn     string
}

func (r *volumeRuntime) Volumes(context.Context) ([]Volume, error) { return r.volumes, nil }

func (r *volumeRuntime) Containers(_ context.Context, project string) ([]Container, error) {
	if project != "" {
		return nil, errors.New("volume users are looked for among every project's containers")
	}
	return r.containers, nil
}

func (r *volumeRuntime) RemoveVolume(_ context.Context, name string) error {
	if name == r.failOn {
		return errors.New("disk on fire")
	}
	r.removed = append(r.removed, name)
	return nil
}

func volumeUser(project, service string, oneOff bool, volumes ...string) Container {
	c := Container{ID: compose.ContainerName(project, service, 1), Volumes: volumes,
		Labels: compose.Labels{compose.LabelProject: project, compose.LabelService: service}}
	c.Name = c.ID
	if oneOff {
		c.Labels[compose.LabelOneOff] = "True"
		c.Name += "-run"
	}
	return c
}

func TestRemoveVolumes(t *testing.T) {
	users := []Container{
		volumeUser("demo", "app", false, "demo_data"),
		volumeUser("demo", "job", true, "demo_old"),
		volumeUser("other", "web", false, "custom-name"),
		volumeUser("demo", "web", false),
	}
	tests := []struct {
		name    string
		args    []string
		force   bool
		removed []string
		err     string
	}{
		{"unused, by key and by name", []string{"gone", "demo_gone"}, false, []string{"demo_gone"}, ""},
		{"in use", []string{"gone", "data"}, false, nil,
			"volume demo_data is in use by container demo-app-1: remove the container first (berth rm -s app, or berth down)"},
		{"in use, forced", []string{"data"}, true, nil, "in use by container demo-app-1"},
		{"in use by a one-off", []string{"old"}, false, nil,
			"volume demo_old is in use by container demo-job-1-run (a one-off container of service job): remove the container first (berth down)"},
		{"in use by another project", []string{"named"}, false, nil,
			"(berth -p other rm -s web, or berth -p other down)"},
		{"unknown", []string{"gone", "nope"}, false, nil, `no such volume: "nope"`},
		{"unknown, forced", []string{"gone", "nope", "future"}, true, []string{"demo_gone"}, ""},
		{"one unknown name: none removed", []string{"gone", "old-unused"}, false, nil, "no such volume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &volumeRuntime{volumes: allVolumes, containers: users}
			removed, err := RemoveVolumes(context.Background(), rt, volumeProject(), tt.args, tt.force)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("RemoveVolumes(%v, force %v) = %v, want error %q", tt.args, tt.force, err, tt.err)
			}
			if !slices.Equal(removed, tt.removed) || !slices.Equal(rt.removed, tt.removed) {
				t.Errorf("RemoveVolumes(%v) removed %v (runtime: %v), want %v", tt.args, removed, rt.removed, tt.removed)
			}
		})
	}
	// A failure half-way reports what was removed.
	rt := &volumeRuntime{volumes: allVolumes, containers: users, failOn: "demo_data"}
	removed, err := RemoveVolumes(context.Background(), rt, volumeProject(), []string{"gone", "data", "named"}, false)
	if err == nil || !slices.Equal(removed, nil) {
		t.Errorf("RemoveVolumes with users = %v, %v; want an error before removing any", removed, err)
	}
	rt.containers = nil
	removed, err = RemoveVolumes(context.Background(), rt, volumeProject(), []string{"gone", "data", "named"}, false)
	if err == nil || !slices.Equal(removed, []string{"demo_gone"}) {
		t.Errorf("RemoveVolumes failing on demo_data = %v, %v; want demo_gone removed and the error", removed, err)
	}
}

func TestVolumesMountedBy(t *testing.T) {
	cs := []Container{
		{Name: "demo-db-1", Labels: compose.Labels{compose.LabelService: "db"}, Volumes: []string{"demo_data", "shared"}},
		{Name: "demo-db-2", Labels: compose.Labels{compose.LabelService: "db"}, Volumes: []string{"demo_old"}},
		{Name: "demo-web-1", Labels: compose.Labels{compose.LabelService: "web"}, Volumes: []string{"custom-name"}},
	}
	vols := ProjectVolumes(volumeProject(), allVolumes)
	for _, tc := range []struct {
		services []string
		want     string
	}{
		{[]string{"db"}, "demo_data,demo_old"}, // shared is external: not the project's
		{[]string{"web"}, "custom-name"},
		{[]string{"db", "web"}, "custom-name,demo_data,demo_old"},
		{[]string{"worker"}, ""},
	} {
		if got := names(VolumesMountedBy(vols, cs, tc.services)); got != tc.want {
			t.Errorf("VolumesMountedBy(%v) = %q, want %q", tc.services, got, tc.want)
		}
	}
}

// TestAnonVolumes checks how a container's anonymous volumes are named:
// new for a new container, the replaced container's by target for a
// recreated one, new again with renew (up -V).
func TestAnonVolumes(t *testing.T) {
	s := &compose.Service{Name: "db", Mounts: []compose.Mount{
		{Type: compose.MountVolume, Source: "demo_data", Target: "/data"},
		{Type: compose.MountVolume, Anonymous: true, Target: "/var/lib/db"},
		{Type: compose.MountVolume, Anonymous: true, Target: "/cache"},
	}}
	fresh := anonVolumes(s, nil, false)
	if len(fresh) != 2 || len(fresh["/var/lib/db"]) != 64 || len(fresh["/cache"]) != 64 || fresh["/cache"] == fresh["/var/lib/db"] {
		t.Fatalf("anonVolumes(new) = %v, want two distinct 64-digit names", fresh)
	}
	// The old container had /var/lib/db only (the service gained /cache).
	old := &Container{Labels: compose.Labels{compose.LabelAnonVolumes: `{"/var/lib/db":"` + fresh["/var/lib/db"] + `","/gone":"x"}`}}
	kept := anonVolumes(s, old, false)
	if kept["/var/lib/db"] != fresh["/var/lib/db"] || len(kept["/cache"]) != 64 || kept["/cache"] == fresh["/cache"] || len(kept) != 2 {
		t.Errorf("anonVolumes(recreate) = %v, want /var/lib/db kept (%s), a new /cache, nothing else", kept, fresh["/var/lib/db"])
	}
	renewed := anonVolumes(s, old, true)
	if renewed["/var/lib/db"] == fresh["/var/lib/db"] || len(renewed["/var/lib/db"]) != 64 {
		t.Errorf("anonVolumes(recreate, renew) = %v, want a new /var/lib/db", renewed)
	}
	if got := anonVolumes(&compose.Service{Name: "web"}, old, false); got != nil {
		t.Errorf("anonVolumes of a service without anonymous volumes = %v, want nil", got)
	}
}
