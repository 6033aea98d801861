package compose

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Build is a service's build section, as berth's builder runs it.
type Build struct {
	// Context is the build context directory, absolute.
	Context string
	// Dockerfile is the Dockerfile's path, absolute; Inline is its content
	// when the file gives dockerfile_inline instead.
	Dockerfile string
	Inline     string
	// Args are the build args with a value (an arg listed without one and
	// not set in the environment is left out, as docker compose does).
	Args    map[string]string
	Target  string
	Labels  map[string]string
	Network string
	// Entitlements are what the user grants the Dockerfile
	// (build.entitlements); berth's builder knows network.host only.
	Entitlements []string
	NoCache      bool
	Pull         bool
	// Tags are more names for the image, besides the service's image name.
	Tags []string
	// Refused is set when the section asks for what berth's builder cannot
	// do; building the service fails with it (other commands still work).
	Refused error
}

// buildOf converts a service's build section; what berth's builder cannot
// do is recorded in Refused, with the key named.
func buildOf(workingDir string, b *types.BuildConfig) (*Build, []string) {
	if b == nil {
		return nil, nil
	}
	refuse := func(key, why string) error {
		return fmt.Errorf("build.%s is not supported by berth's builder (%s): remove it", key, why)
	}
	var refused error
	switch {
	case len(b.SSH) > 0:
		refused = refuse("ssh", "no SSH agent forwarding into RUN steps")
	case len(b.Secrets) > 0:
		refused = refuse("secrets", "no RUN --mount=type=secret")
	case len(b.AdditionalContexts) > 0:
		refused = refuse("additional_contexts", "one build context per image")
	case b.Privileged:
		refused = refuse("privileged", "RUN steps run with the default capabilities")
	case unknownEntitlement(b.Entitlements) != "":
		refused = fmt.Errorf("build.entitlements: %q is not supported by berth's builder (RUN steps run with the default capabilities): remove it; berth grants only %s", unknownEntitlement(b.Entitlements), entitlementNetworkHost)
	case len(b.Platforms) > 1:
		refused = refuse("platforms", "berth builds for this host's platform only")
	case strings.Contains(b.Context, "://") || strings.HasPrefix(b.Context, "git@"):
		refused = fmt.Errorf("build.context %q: remote build contexts are not supported by berth's builder; clone it and give the directory", b.Context)
	}
	var warnings []string
	if len(b.CacheFrom) > 0 || len(b.CacheTo) > 0 {
		warnings = append(warnings, "build.cache_from/cache_to are ignored: berth keeps its own local build cache")
	}
	if len(b.ExtraHosts) > 0 || b.ShmSize != 0 || len(b.Ulimits) > 0 || b.Isolation != "" {
		warnings = append(warnings, "build.extra_hosts, shm_size, ulimits and isolation are ignored by berth's builder")
	}
	ctxDir := b.Context
	if ctxDir == "" {
		ctxDir = "."
	}
	if !filepath.IsAbs(ctxDir) {
		ctxDir = filepath.Join(workingDir, ctxDir)
	}
	out := &Build{
		Context:      ctxDir,
		Inline:       b.DockerfileInline,
		Args:         map[string]string{},
		Target:       b.Target,
		Labels:       maps.Clone(map[string]string(b.Labels)),
		Network:      b.Network,
		Entitlements: slices.Clone(b.Entitlements),
		NoCache:      b.NoCache,
		Pull:         b.Pull,
		Tags:         slices.Clone([]string(b.Tags)),
		Refused:      refused,
	}
	if out.Inline == "" {
		df := b.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		if !filepath.IsAbs(df) {
			df = filepath.Join(ctxDir, df)
		}
		out.Dockerfile = df
	}
	for k, v := range b.Args {
		if v != nil {
			out.Args[k] = *v
		}
	}
	return out, warnings
}

// entitlementNetworkHost is the one entitlement berth's builder grants
// (RUN --network=host); containerd/build checks and applies it.
const entitlementNetworkHost = "network.host"

// unknownEntitlement is the first entitlement berth's builder does not
// grant, or "".
func unknownEntitlement(es []string) string {
	for _, e := range es {
		if e != entitlementNetworkHost {
			return e
		}
	}
	return ""
}
