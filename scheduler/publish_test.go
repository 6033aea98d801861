package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/compose"
)

// fakePublisher is a registry-less ImagePublisher: tags and pushes are
// recorded, and a push returns a digest made from the image's ID.
type fakePublisher struct {
	*fakeRuntime
	mu     sync.Mutex // guards following
	tagged []string
	pushed []string
	// failPush makes the push of that name fail.
	failPush map[string]error
}

func (f *fakePublisher) TagImage(_ context.Context, source, target string) error {
	f.fakeRuntime.mu.Lock()
	id, ok := f.images[source]
	if ok {
		f.images[target] = id
	}
	f.fakeRuntime.mu.Unlock()
	if !ok {
		return fmt.Errorf("tag %s: no such image", source)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagged = append(f.tagged, source+" -> "+target)
	return nil
}

func (f *fakePublisher) RemoveImage(_ context.Context, image string) error {
	f.fakeRuntime.mu.Lock()
	defer f.fakeRuntime.mu.Unlock()
	if _, ok := f.images[image]; !ok {
		return fmt.Errorf("remove image %s: not found", image)
	}
	delete(f.images, image)
	return nil
}

func (f *fakePublisher) Push(_ context.Context, image string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failPush[image]; err != nil {
		return "", err
	}
	f.fakeRuntime.mu.Lock()
	id, ok := f.images[image]
	f.fakeRuntime.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("push %s: no such local image", image)
	}
	f.pushed = append(f.pushed, image)
	return "sha256:" + strings.TrimPrefix(id, "sha256:"), nil
}

// publishProject has api and worker built under image names with and
// without a registry, db and migrate sharing one built image, web built
// with no image: (demo-web), and cache pulled.
func publishProject() *compose.Project {
	p := project("api", "cache", "db", "migrate", "web", "worker")
	images := map[string]string{"api": "ghcr.io/org/api:1.0", "db": "edge/db", "migrate": "edge/db", "web": "", "worker": "worker"}
	for _, s := range p.Services {
		image, ok := images[s.Name]
		if !ok {
			continue
		}
		s.Image = image
		s.Build = &compose.Build{Context: "/ctx"}
		s.HasBuild = true
	}
	return p
}

func TestPublishImages(t *testing.T) {
	tests := []struct {
		name     string
		registry string
		drop     string // a service left out of the project
		want     map[string]string
		tagged   []string
		pushed   []string
		wantErr  string
	}{{
		name:     "to a registry",
		registry: "127.0.0.1:5000/",
		want: map[string]string{
			"api":     "127.0.0.1:5000/org/api@sha256:new-api",
			"db":      "127.0.0.1:5000/edge/db@sha256:new-db",
			"migrate": "127.0.0.1:5000/edge/db@sha256:new-db",
			"web":     "127.0.0.1:5000/demo-web@sha256:new-web",
			"worker":  "127.0.0.1:5000/worker@sha256:new-worker",
		},
		tagged: []string{
			"demo-web -> 127.0.0.1:5000/demo-web",
			"edge/db -> 127.0.0.1:5000/edge/db",
			"ghcr.io/org/api:1.0 -> 127.0.0.1:5000/org/api:1.0",
			"worker -> 127.0.0.1:5000/worker",
		},
		pushed: []string{"127.0.0.1:5000/demo-web", "127.0.0.1:5000/edge/db", "127.0.0.1:5000/org/api:1.0", "127.0.0.1:5000/worker"},
	}, {
		name: "to their own registries",
		drop: "web",
		want: map[string]string{
			"api":     "ghcr.io/org/api@sha256:new-api",
			"db":      "edge/db@sha256:new-db",
			"migrate": "edge/db@sha256:new-db",
			"worker":  "worker@sha256:new-worker",
		},
		pushed: []string{"edge/db", "ghcr.io/org/api:1.0", "worker"},
	}, {
		name:    "no image name and no registry",
		wantErr: `service "web": its image demo-web (<project>-<service>: it has no image:) names no registry to push to`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := publishProject()
			if tt.drop != "" {
				p.Services = slices.DeleteFunc(p.Services, func(s *compose.Service) bool { return s.Name == tt.drop })
			}
			rt := newFakeRuntime()
			b := &fakeBuilder{rt: rt}
			pub := &fakePublisher{fakeRuntime: rt}
			got, err := PublishImages(context.Background(), p, pub, b, PublishOptions{Registry: tt.registry})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrNoRegistry) {
					t.Fatalf("PublishImages() error = %v, want %s", err, tt.wantErr)
				}
				if b.list() != "" || len(pub.pushed) > 0 {
					t.Errorf("built %q, pushed %q before refusing; want nothing", b.list(), pub.pushed)
				}
				return
			}
			if err != nil {
				t.Fatalf("PublishImages() error = %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("PublishImages() = %v, want %v", got, tt.want)
			}
			// db and migrate share an image: built once (by the first).
			var built []string
			for _, b := range b.built {
				name, _, _ := strings.Cut(b, " ")
				built = append(built, name)
			}
			slices.Sort(built)
			wantBuilt := []string{"api", "db", "web", "worker"}
			if tt.drop != "" {
				wantBuilt = slices.DeleteFunc(wantBuilt, func(s string) bool { return s == tt.drop })
			}
			if !slices.Equal(built, wantBuilt) {
				t.Errorf("built %q, want %q: each image once, cache (pulled) not at all", built, wantBuilt)
			}
			slices.Sort(pub.tagged)
			slices.Sort(pub.pushed)
			if !slices.Equal(pub.tagged, tt.tagged) {
				t.Errorf("tagged %q, want %q", pub.tagged, tt.tagged)
			}
			if !slices.Equal(pub.pushed, tt.pushed) {
				t.Errorf("pushed %q, want %q", pub.pushed, tt.pushed)
			}
		})
	}
}

func TestPublishImagesFailures(t *testing.T) {
	refused := errors.New("connection refused")
	t.Run("push", func(t *testing.T) {
		rt := newFakeRuntime()
		pub := &fakePublisher{fakeRuntime: rt, failPush: map[string]error{"r.example:5000/edge/db": refused}}
		_, err := PublishImages(context.Background(), publishProject(), pub, &fakeBuilder{rt: rt}, PublishOptions{Registry: "r.example:5000"})
		want := `services "db", "migrate": push image r.example:5000/edge/db to registry r.example:5000: connection refused`
		if err == nil || err.Error() != want {
			t.Fatalf("PublishImages() error = %v, want %s", err, want)
		}
		var pe *PushError
		if !errors.As(err, &pe) || !errors.Is(err, refused) {
			t.Errorf("PublishImages() error = %#v, want a *PushError wrapping the push's error", err)
		}
		// The other images are still pushed: one failure stops none.
		if len(pub.pushed) != 3 {
			t.Errorf("pushed %q, want the other 3 images", pub.pushed)
		}
		// The name tagged for the failed push is gone; the others stay.
		if _, ok := rt.images["r.example:5000/edge/db"]; ok {
			t.Errorf("the tag of the failed push r.example:5000/edge/db is left behind")
		}
		if _, ok := rt.images["r.example:5000/worker"]; !ok {
			t.Errorf("the tag of the pushed r.example:5000/worker was removed")
		}
	})
	t.Run("push with the name already there", func(t *testing.T) {
		rt := newFakeRuntime()
		rt.images["r.example:5000/edge/db"] = "sha256:old"
		pub := &fakePublisher{fakeRuntime: rt, failPush: map[string]error{"r.example:5000/edge/db": refused}}
		if _, err := PublishImages(context.Background(), publishProject(), pub, &fakeBuilder{rt: rt}, PublishOptions{Registry: "r.example:5000"}); !errors.Is(err, refused) {
			t.Fatalf("PublishImages() error = %v, want the push's failure", err)
		}
		if _, ok := rt.images["r.example:5000/edge/db"]; !ok {
			t.Errorf("a name that was there before the failed push was removed")
		}
	})
	t.Run("build", func(t *testing.T) {
		rt := newFakeRuntime()
		pub := &fakePublisher{fakeRuntime: rt}
		_, err := PublishImages(context.Background(), publishProject(), pub, &fakeBuilder{rt: rt, failOn: "api"}, PublishOptions{Registry: "r.example:5000"})
		if err == nil || !strings.Contains(err.Error(), "build failed") {
			t.Fatalf("PublishImages() error = %v, want the build's failure", err)
		}
		if len(pub.pushed) > 0 {
			t.Errorf("pushed %q after a failed build, want nothing", pub.pushed)
		}
	})
	t.Run("two images under one name", func(t *testing.T) {
		p := publishProject()
		p.Service("worker").Image = "quay.io/org/api:1.0"
		rt := newFakeRuntime()
		b := &fakeBuilder{rt: rt}
		_, err := PublishImages(context.Background(), p, &fakePublisher{fakeRuntime: rt}, b, PublishOptions{Registry: "r.example:5000"})
		want := `services "api" and "worker": their images ghcr.io/org/api:1.0 and quay.io/org/api:1.0 would both be pushed as r.example:5000/org/api:1.0: give them image: names that differ once the registry host is dropped`
		if err == nil || err.Error() != want {
			t.Fatalf("PublishImages() error = %v, want %s", err, want)
		}
		if b.list() != "" {
			t.Errorf("built %q before refusing, want nothing", b.list())
		}
	})
	t.Run("nothing built", func(t *testing.T) {
		rt := newFakeRuntime()
		got, err := PublishImages(context.Background(), project("cache"), &fakePublisher{fakeRuntime: rt}, &fakeBuilder{rt: rt}, PublishOptions{})
		if err != nil || len(got) != 0 {
			t.Fatalf("PublishImages() = %v, %v, want no images and no error", got, err)
		}
	})
}

func TestPublishName(t *testing.T) {
	tests := []struct{ registry, image, want, repo string }{
		{"", "ghcr.io/org/api:1.0", "ghcr.io/org/api:1.0", "ghcr.io/org/api"},
		{"r:5000", "demo-web", "r:5000/demo-web", "r:5000/demo-web"},
		{"r:5000/team/", "localhost/app", "r:5000/team/app", "r:5000/team/app"},
		{"r:5000", "library/postgres:16", "r:5000/library/postgres:16", "r:5000/library/postgres"},
		{"r:5000", "docker.io/library/app@sha256:abc", "r:5000/library/app@sha256:abc", "r:5000/library/app"},
	}
	for _, tt := range tests {
		got := compose.PublishName(tt.registry, tt.image)
		if got != tt.want {
			t.Errorf("PublishName(%q, %q) = %q, want %q", tt.registry, tt.image, got, tt.want)
		}
		if repo := Repository(got); repo != tt.repo {
			t.Errorf("Repository(%q) = %q, want %q", got, repo, tt.repo)
		}
	}
}
