package compose

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestBuildEntitlements: build.entitlements carries network.host and
// security.insecure to the builder, privileged grants security.insecure,
// and any other entitlement makes building refuse.
func TestBuildEntitlements(t *testing.T) {
	tests := []struct {
		name        string
		cfg         types.BuildConfig
		want        []string
		wantRefused string
	}{
		{"none", types.BuildConfig{}, nil, ""},
		{"network.host", types.BuildConfig{Entitlements: []string{"network.host"}}, []string{"network.host"}, ""},
		{"security.insecure", types.BuildConfig{Entitlements: []string{"network.host", "security.insecure"}}, []string{"network.host", "security.insecure"}, ""},
		{"unknown", types.BuildConfig{Entitlements: []string{"device"}}, nil,
			`build.entitlements: "device" is not supported by berth's builder: remove it; berth grants network.host and security.insecure`},
		{"privileged", types.BuildConfig{Privileged: true}, []string{"security.insecure"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := buildOf(&types.Project{WorkingDir: "/p"}, &tt.cfg)
			if tt.wantRefused != "" {
				if b.Refused == nil || !strings.Contains(b.Refused.Error(), tt.wantRefused) {
					t.Errorf("buildOf(%+v).Refused = %v, want %q", tt.cfg, b.Refused, tt.wantRefused)
				}
				return
			}
			if b.Refused != nil || !slices.Equal(b.Entitlements, tt.want) {
				t.Errorf("buildOf(%+v) = entitlements %q, refused %v; want %q, nil", tt.cfg, b.Entitlements, b.Refused, tt.want)
			}
		})
	}
}

// TestBuildSecretsSSHContexts: build.secrets resolve against the
// top-level secrets by id, build.ssh keeps its ids and absolute paths,
// and additional_contexts' directories are made absolute from the
// project directory while images and services are kept.
func TestBuildSecretsSSHContexts(t *testing.T) {
	spec := &types.Project{Name: "demo", WorkingDir: "/p", Services: types.Services{"lib": {Name: "lib"}}, Secrets: types.Secrets{
		"token":  {File: "token.txt"},
		"inline": {Content: "s3cret"},
		"ext":    {External: true},
	}}
	b, _ := buildOf(spec, &types.BuildConfig{
		Secrets: []types.ServiceSecretConfig{{Source: "token"}, {Source: "inline", Target: "api"}},
		SSH:     types.SSHConfig{{ID: "default"}, {ID: "deploy", Path: "keys/id_ed25519"}},
		AdditionalContexts: types.Mapping{
			"assets": "assets", "base": "docker-image://busybox:1", "lib": "service:lib",
		},
	})
	if b.Refused != nil {
		t.Fatalf("refused: %v", b.Refused)
	}
	wantSecrets := map[string]BuildSecret{"token": {File: "/p/token.txt"}, "api": {Content: "s3cret"}}
	if !maps.Equal(b.Secrets, wantSecrets) {
		t.Errorf("Secrets = %+v, want %+v", b.Secrets, wantSecrets)
	}
	if len(b.SSH) != 2 || len(b.SSH["default"]) != 0 || !slices.Equal(b.SSH["deploy"], []string{"/p/keys/id_ed25519"}) {
		t.Errorf("SSH = %+v", b.SSH)
	}
	wantContexts := map[string]string{"assets": "/p/assets", "base": "docker-image://busybox:1", "lib": "docker-image://demo-lib"}
	if !maps.Equal(b.Contexts, wantContexts) || !slices.Equal(b.After, []string{"lib"}) {
		t.Errorf("Contexts = %+v, After = %v; want %+v, [lib]", b.Contexts, b.After, wantContexts)
	}
	for _, tt := range []struct {
		cfg  types.BuildConfig
		want string
	}{
		{types.BuildConfig{Secrets: []types.ServiceSecretConfig{{Source: "nope"}}}, `build.secrets: secret "nope" is not defined`},
		{types.BuildConfig{Secrets: []types.ServiceSecretConfig{{Source: "ext"}}}, `build.secrets: secret "ext" is external`},
		{types.BuildConfig{AdditionalContexts: types.Mapping{"x": "https://example.com/x.git"}}, `build.additional_contexts.x "https://example.com/x.git": remote contexts are not supported`},
		{types.BuildConfig{AdditionalContexts: types.Mapping{"x": "service:nope"}}, `build.additional_contexts.x: no service "nope" is enabled`},
	} {
		if b, _ := buildOf(spec, &tt.cfg); b.Refused == nil || !strings.Contains(b.Refused.Error(), tt.want) {
			t.Errorf("buildOf(%+v).Refused = %v, want %q", tt.cfg, b.Refused, tt.want)
		}
	}
}

// TestWithBuildContextServices: selecting a service selects those whose
// images its build uses, transitively.
func TestWithBuildContextServices(t *testing.T) {
	p := &types.Project{Services: types.Services{
		"app":  {Name: "app", Build: &types.BuildConfig{AdditionalContexts: types.Mapping{"lib": "service:lib", "dir": "/x"}}},
		"lib":  {Name: "lib", Build: &types.BuildConfig{AdditionalContexts: types.Mapping{"base": "service:base"}}},
		"base": {Name: "base", Build: &types.BuildConfig{}},
		"db":   {Name: "db"},
	}}
	if got := withBuildContextServices(p, []string{"app", "db"}); !slices.Equal(got, []string{"app", "db", "lib", "base"}) {
		t.Errorf("withBuildContextServices = %v, want [app db lib base]", got)
	}
	if got := withBuildContextServices(p, nil); got != nil {
		t.Errorf("withBuildContextServices(nil) = %v, want nil (every service)", got)
	}
}

// TestBuildPlatforms: build.platforms are the platforms to build for.
func TestBuildPlatforms(t *testing.T) {
	for _, platforms := range [][]string{nil, {"linux/arm64"}, {"linux/amd64", "linux/arm64"}} {
		b, _ := buildOf(&types.Project{WorkingDir: "/p"}, &types.BuildConfig{Platforms: platforms})
		if b.Refused != nil || !slices.Equal(b.Platforms, platforms) {
			t.Errorf("buildOf(platforms %q) = platforms %q, refused %v; want %q, nil", platforms, b.Platforms, b.Refused, platforms)
		}
	}
}
