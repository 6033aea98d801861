package compose

import "testing"

func TestImageNames(t *testing.T) {
	for _, tt := range []struct{ registry, image, publish, registryOf string }{
		{"", "ghcr.io/org/api:1.0", "ghcr.io/org/api:1.0", "ghcr.io"},
		{"r:5000", "demo-web", "r:5000/demo-web", "docker.io"},
		{"r:5000/team/", "localhost/app", "r:5000/team/app", "localhost"},
		{"r:5000", "library/postgres:16", "r:5000/library/postgres:16", "docker.io"},
		{"r:5000", "127.0.0.1:5000/app@sha256:abc", "r:5000/app@sha256:abc", "127.0.0.1:5000"},
	} {
		if got := PublishName(tt.registry, tt.image); got != tt.publish {
			t.Errorf("PublishName(%q, %q) = %q, want %q", tt.registry, tt.image, got, tt.publish)
		}
		if got := RegistryOf(tt.image); got != tt.registryOf {
			t.Errorf("RegistryOf(%q) = %q, want %q", tt.image, got, tt.registryOf)
		}
	}
}
