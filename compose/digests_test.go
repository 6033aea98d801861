package compose

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// fakeRegistry answers digests by normalized name and counts the asks.
type fakeRegistry struct {
	digests map[string]string
	asked   map[string]int
}

func (f *fakeRegistry) resolve(_ context.Context, image string) (string, error) {
	f.asked[image]++
	d, ok := f.digests[image]
	if !ok {
		return "", errors.New("not found")
	}
	return d, nil
}

func TestResolveImageDigests(t *testing.T) {
	reg := &fakeRegistry{digests: map[string]string{
		"docker.io/library/redis:7":   digestA,
		"127.0.0.1:5000/e2e/app:1":    digestB,
		"docker.io/library/busybox:1": "not-a-digest",
	}, asked: map[string]int{}}
	spec := &types.Project{Services: types.Services{
		"cache":  {Name: "cache", Image: "redis:7"},
		"cache2": {Name: "cache2", Image: "docker.io/library/redis:7"},
		"app":    {Name: "app", Image: "127.0.0.1:5000/e2e/app:1"},
		"pinned": {Name: "pinned", Image: "redis@" + digestB},
		"built":  {Name: "built", Build: &types.BuildConfig{Context: "."}},
	}}
	got, err := ResolveImageDigests(context.Background(), spec, reg.resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cache":  "docker.io/library/redis:7@" + digestA,
		"cache2": "docker.io/library/redis:7@" + digestA,
		"app":    "127.0.0.1:5000/e2e/app:1@" + digestB,
		"pinned": "docker.io/library/redis@" + digestB,
		"built":  "",
	}
	for name, w := range want {
		if g := got.Services[name].Image; g != w {
			t.Errorf("service %s: image = %q, want %q", name, g, w)
		}
	}
	if reg.asked["docker.io/library/redis:7"] != 1 || len(reg.asked) != 2 {
		t.Errorf("asked the registry %v, want once per image not pinned", reg.asked)
	}
	if spec.Services["cache"].Image != "redis:7" {
		t.Errorf("the caller's project changed: %q", spec.Services["cache"].Image)
	}

	for _, tt := range []struct{ image, wantErr string }{
		{"nothere:1", `service "x": resolve the digest of image docker.io/library/nothere:1: not found`},
		{"busybox:1", `the registry gave "not-a-digest"`},
		{"Bad:Ref", `service "x": image "Bad:Ref"`},
	} {
		_, err := ResolveImageDigests(context.Background(), &types.Project{Services: types.Services{"x": {Name: "x", Image: tt.image}}}, reg.resolve)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ResolveImageDigests(%s) error = %v, want %q", tt.image, err, tt.wantErr)
		}
	}
}

func TestImagesOnly(t *testing.T) {
	spec := &types.Project{Name: "demo", Services: types.Services{
		"app":   {Name: "app", Image: "docker.io/library/redis:7@" + digestA, Command: []string{"x"}, Environment: types.MappingWithEquals{}},
		"built": {Name: "built", Build: &types.BuildConfig{Context: "."}},
	}, Volumes: types.Volumes{"data": {}}}
	b, err := ImagesOnly(spec).MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	want := "services:\n  app:\n    image: docker.io/library/redis:7@" + digestA + "\n"
	if string(b) != want {
		t.Errorf("ImagesOnly = %q, want %q", b, want)
	}

	model := map[string]any{
		"name":     "demo",
		"volumes":  map[string]any{"data": nil},
		"services": map[string]any{"app": map[string]any{"image": "redis:${TAG}", "command": "x"}, "built": map[string]any{"build": "."}},
	}
	ImagesOnlyModel(model)
	services, _ := model["services"].(map[string]any)
	if len(model) != 1 || len(services) != 1 || len(services["app"].(map[string]any)) != 1 {
		t.Errorf("ImagesOnlyModel = %v", model)
	}
}

func TestResolveModelImageDigests(t *testing.T) {
	reg := &fakeRegistry{digests: map[string]string{"docker.io/library/redis:7": digestA}, asked: map[string]int{}}
	model := map[string]any{"services": map[string]any{
		"app":   map[string]any{"image": "redis:7", "command": "x"},
		"built": map[string]any{"build": "."},
	}}
	if err := ResolveModelImageDigests(context.Background(), model, reg.resolve); err != nil {
		t.Fatal(err)
	}
	app := model["services"].(map[string]any)["app"].(map[string]any)
	if app["image"] != "docker.io/library/redis:7@"+digestA || app["command"] != "x" {
		t.Errorf("model app = %v", app)
	}
	bad := map[string]any{"services": map[string]any{"app": map[string]any{"image": "redis:${TAG}"}}}
	if err := ResolveModelImageDigests(context.Background(), bad, reg.resolve); err == nil || !strings.Contains(err.Error(), `service "app"`) {
		t.Errorf("a variable in the image: %v", err)
	}
}
