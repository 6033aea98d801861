package compose

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestBuildEntitlements: build.entitlements carries network.host to the
// builder; any other entitlement, and privileged, make building refuse.
func TestBuildEntitlements(t *testing.T) {
	tests := []struct {
		name        string
		cfg         types.BuildConfig
		want        []string
		wantRefused string
	}{
		{"none", types.BuildConfig{}, nil, ""},
		{"network.host", types.BuildConfig{Entitlements: []string{"network.host"}}, []string{"network.host"}, ""},
		{"security.insecure", types.BuildConfig{Entitlements: []string{"network.host", "security.insecure"}}, nil,
			`build.entitlements: "security.insecure" is not supported by berth's builder (RUN steps run with the default capabilities): remove it; berth grants only network.host`},
		{"privileged", types.BuildConfig{Privileged: true}, nil, "build.privileged is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := buildOf("/p", &tt.cfg)
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
