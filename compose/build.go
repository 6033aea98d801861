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
	// (build.entitlements; privileged: true grants security.insecure);
	// berth's builder knows network.host and security.insecure.
	Entitlements []string
	// Secrets are what RUN --mount=type=secret reads (build.secrets), by
	// id: the reference's target, else the secret's name.
	Secrets map[string]BuildSecret
	// SSH are the agents RUN --mount=type=ssh forwards (build.ssh), by
	// id: an agent socket or private key files; "default" without a path
	// is the agent of $SSH_AUTH_SOCK when the build runs.
	SSH map[string][]string
	// Contexts are the named contexts (build.additional_contexts) that
	// FROM and COPY --from may name: an absolute directory or a
	// docker-image:// reference; service:NAME is turned into the
	// reference of that service's image, and NAME is in After.
	Contexts map[string]string
	// After are the services whose images this build uses (service:
	// contexts): they are built first.
	After   []string
	NoCache bool
	Pull    bool
	// Tags are more names for the image, besides the service's image name.
	Tags []string
	// Platforms are build.platforms: the platforms to build for unless
	// the service's platform: or build --platform says others; several
	// make an OCI index of one image per platform; none is the host's.
	Platforms []string
	// Refused is set when the section asks for what berth's builder cannot
	// do; building the service fails with it (other commands still work).
	Refused error
}

// BuildSecret is a secret a build reads: a host file, or its content.
type BuildSecret struct {
	File    string
	Content string
}

// buildOf converts a service's build section; what berth's builder cannot
// do is recorded in Refused, with the key named.
func buildOf(spec *types.Project, b *types.BuildConfig) (*Build, []string) {
	if b == nil {
		return nil, nil
	}
	workingDir := spec.WorkingDir
	secrets, secretsErr := buildSecretsOf(spec, b.Secrets)
	var refused error
	switch {
	case secretsErr != nil:
		refused = secretsErr
	case unknownEntitlement(b.Entitlements) != "":
		refused = fmt.Errorf("build.entitlements: %q is not supported by berth's builder: remove it; berth grants %s and %s", unknownEntitlement(b.Entitlements), entitlementNetworkHost, entitlementSecurityInsecure)
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
		Secrets:      secrets,
		NoCache:      b.NoCache,
		Pull:         b.Pull,
		Tags:         slices.Clone([]string(b.Tags)),
		Refused:      refused,
	}
	out.Platforms = slices.Clone(b.Platforms)
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
	if b.Privileged && !slices.Contains(out.Entitlements, entitlementSecurityInsecure) {
		// As docker compose: privileged lets RUN --security=insecure run.
		out.Entitlements = append(out.Entitlements, entitlementSecurityInsecure)
	}
	for _, k := range b.SSH {
		if out.SSH == nil {
			out.SSH = map[string][]string{}
		}
		id := k.ID
		if id == "" {
			id = "default"
		}
		if k.Path != "" {
			path := k.Path
			if !filepath.IsAbs(path) {
				path = filepath.Join(workingDir, path)
			}
			out.SSH[id] = append(out.SSH[id], path)
		} else if out.SSH[id] == nil {
			out.SSH[id] = []string{}
		}
	}
	for name, v := range b.AdditionalContexts {
		if out.Contexts == nil {
			out.Contexts = map[string]string{}
		}
		switch {
		case strings.HasPrefix(v, "docker-image://"):
		case strings.HasPrefix(v, "service:"):
			dep := strings.TrimPrefix(v, "service:")
			other, ok := spec.Services[dep]
			if !ok {
				if out.Refused == nil {
					out.Refused = fmt.Errorf("build.additional_contexts.%s: no service %q is enabled: name a service of the project (or enable its profile)", name, dep)
				}
				continue
			}
			image := other.Image
			if image == "" {
				image = spec.Name + "-" + dep
			}
			v = "docker-image://" + image
			out.After = append(out.After, dep)
		case strings.Contains(v, "://") || strings.HasPrefix(v, "git@"):
			if out.Refused == nil {
				out.Refused = fmt.Errorf("build.additional_contexts.%s %q: remote contexts are not supported by berth's builder; give a directory, docker-image://REF or service:NAME", name, v)
			}
		case !filepath.IsAbs(v):
			v = filepath.Join(workingDir, v) // as compose-go resolves it
		}
		out.Contexts[name] = v
	}
	slices.Sort(out.After)
	return out, warnings
}

// buildSecretsOf resolves build.secrets against the top-level secrets:
// a file or a content (environment: is resolved at load time), by id.
func buildSecretsOf(spec *types.Project, refs []types.ServiceSecretConfig) (map[string]BuildSecret, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	out := map[string]BuildSecret{}
	for _, ref := range refs {
		obj, ok := spec.Secrets[ref.Source]
		if !ok {
			return nil, fmt.Errorf("build.secrets: secret %q is not defined at the top level of the compose file", ref.Source)
		}
		if obj.External {
			return nil, fmt.Errorf("build.secrets: secret %q is external, which a build cannot read: give file:, environment: or content:", ref.Source)
		}
		id := ref.Source
		if ref.Target != "" {
			id = ref.Target
		}
		sec := BuildSecret{Content: obj.Content}
		if obj.File != "" {
			sec.File = obj.File
			if !filepath.IsAbs(sec.File) {
				sec.File = filepath.Join(spec.WorkingDir, sec.File)
			}
		}
		out[id] = sec
	}
	return out, nil
}

// The entitlements berth's builder grants: RUN --network=host and RUN
// --security=insecure; containerd/build checks and applies them.
const (
	entitlementNetworkHost      = "network.host"
	entitlementSecurityInsecure = "security.insecure"
)

// unknownEntitlement is the first entitlement berth's builder does not
// grant, or "".
func unknownEntitlement(es []string) string {
	for _, e := range es {
		if e != entitlementNetworkHost && e != entitlementSecurityInsecure {
			return e
		}
	}
	return ""
}
