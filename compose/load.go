package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	composeerrdefs "github.com/compose-spec/compose-go/v2/errdefs"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// Options say which files to load and how. They mirror docker compose's
// global flags; empty fields fall back to the COMPOSE_* variables in Environ
// and then to docker compose's defaults.
type Options struct {
	// Files are the -f files in merge order; empty means COMPOSE_FILE, else
	// discover compose.yaml (and its override file) in the working directory
	// or a parent.
	Files       []string
	ProjectName string
	ProjectDir  string
	// EnvFiles replace the project directory's .env when not empty.
	EnvFiles []string
	Profiles []string
	// Environ is the process environment, as os.Environ returns it.
	Environ []string
	// Services restricts the project to these services and what they depend on.
	Services []string
	// KeepUnselected keeps every enabled service in the project: Services
	// are then only checked and enabled (their profiles activated). restart
	// needs it, for the dependents it restarts with the services named.
	KeepUnselected bool
	// Raw turns off interpolation, normalization and path resolution
	// (config --no-interpolate / --no-normalize / --no-path-resolution).
	NoInterpolate, NoNormalize, NoResolvePaths bool
	// NoConsistency skips compose-go's consistency check (config
	// --no-consistency).
	NoConsistency bool
	// KeepEnvFiles keeps env_file in the services instead of merging it into
	// environment (config --no-env-resolution).
	KeepEnvFiles bool
	// AllResources keeps the networks and volumes no selected service
	// uses (--all-resources); by default they are left out, as docker
	// compose leaves them out.
	AllResources bool
	// Compatibility names containers and images as compose v1 did, with
	// underscores: project_service_1 (--compatibility). A true
	// COMPOSE_COMPATIBILITY in the environment or .env does the same.
	Compatibility bool
	// Artifacts fetches compose files given as oci://REPO[:TAG]; they are
	// kept in ArtifactCache, a directory per artifact.
	Artifacts     ArtifactFetcher
	ArtifactCache string
}

// ErrNoConfig is returned (wrapped) when no compose file was given and none
// was found.
var ErrNoConfig = errors.New("no compose file found")

// LoadSpec loads the project as compose-go models it, exactly as docker
// compose does before it runs anything: interpolated, merged, normalized,
// validated, with disabled services filtered out by the active profiles and
// resources no service uses dropped. It is what `config` prints.
func LoadSpec(ctx context.Context, opts Options) (*types.Project, error) {
	po, err := projectOptions(opts)
	if err != nil {
		return nil, err
	}
	restore, err := stdinBounded(po.ConfigPaths)
	defer restore()
	if err != nil {
		return nil, err
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, oneLine(inFiles(loadError(err), po.ConfigPaths))
	}
	if p.Name == "" {
		return nil, errors.New("project name can't be empty: use --project-name (-p) or a name: key")
	}
	if err := checkServiceNames(p, opts.Services); err != nil {
		return nil, err
	}
	p, err = p.WithServicesEnabled(opts.Services...)
	if err != nil {
		return nil, err
	}
	if !opts.KeepUnselected {
		if p, err = p.WithSelectedServices(withBuildContextServices(p, opts.Services)); err != nil {
			return nil, err
		}
	}
	if !opts.AllResources {
		p = p.WithoutUnnecessaryResources()
	}
	if !opts.KeepEnvFiles {
		// Only now, as docker compose does: the env_file of a service
		// that is not selected need not exist.
		resolved, err := p.WithServicesEnvironmentResolved(true)
		if err != nil {
			return nil, inFiles(err, p.ComposeFiles)
		}
		p = resolved
	}
	if err := checkContainerNames(p); err != nil {
		return nil, inFiles(err, p.ComposeFiles)
	}
	return p, nil
}

// LoadModel loads the files as LoadSpec does, merged but not interpolated
// and not decoded into compose-go's types: what config --no-interpolate
// and config --variables print, as docker compose does, since a value
// such as "${PORT:-8080}:80" only decodes once interpolated.
func LoadModel(ctx context.Context, opts Options) (map[string]any, error) {
	opts.NoInterpolate = true
	po, err := projectOptions(opts)
	if err != nil {
		return nil, err
	}
	restore, err := stdinBounded(po.ConfigPaths)
	defer restore()
	if err != nil {
		return nil, err
	}
	model, err := po.LoadModel(ctx)
	if err != nil {
		return nil, oneLine(inFiles(loadError(err), po.ConfigPaths))
	}
	return model, nil
}

// projectOptions are compose-go's options for opts.
func projectOptions(opts Options) (*cli.ProjectOptions, error) {
	if err := checkFiles(opts.Files); err != nil {
		return nil, err
	}
	files := opts.EnvFiles
	if len(files) == 0 {
		// docker compose's default for --env-file.
		files = strings.FieldsFunc(environValue(opts.Environ, "COMPOSE_ENV_FILES"), func(r rune) bool { return r == ',' })
	}
	envFiles := make([]string, 0, len(files))
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("env file %s: %w", f, err)
		}
		envFiles = append(envFiles, abs)
	}
	po, err := cli.NewProjectOptions(opts.Files,
		cli.WithInterpolation(!opts.NoInterpolate),
		cli.WithResolvedPaths(!opts.NoResolvePaths),
		cli.WithNormalization(!opts.NoNormalize),
		cli.WithConsistency(!opts.NoConsistency),
		cli.WithDiscardEnvFile,
		cli.WithWorkingDirectory(opts.ProjectDir),
		cli.WithEnv(opts.Environ),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		// The project directory may only now be known: read its .env.
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithName(opts.ProjectName),
		cli.WithResourceLoader(&ociFiles{fetch: opts.Artifacts, cache: opts.ArtifactCache, known: map[string]string{}}),
		cli.WithResourceLoader(boundedFiles{dir: opts.ProjectDir}),
		cli.WithoutEnvironmentResolution,
	)
	if err != nil {
		return nil, loadError(err)
	}
	return po, nil
}

// environValue is the value of key in environ (KEY=VALUE entries), or "".
func environValue(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// checkContainerNames refuses two services with one container_name.
// compose-go's CheckContainerNameUnicity does too, but names only one of
// them, in a garbled message.
func checkContainerNames(p *types.Project) error {
	by := map[string]string{}
	for _, name := range p.ServiceNames() {
		cn := p.Services[name].ContainerName
		if cn == "" {
			continue
		}
		if other, ok := by[cn]; ok {
			// docker compose's words first (its engine's, at creation).
			return fmt.Errorf("container name %q is already in use: services %q and %q have the same container_name; container names must be unique", cn, other, name)
		}
		by[cn] = name
	}
	return nil
}

// checkFiles fails for a -f path that names no file, before compose-go
// says "read dir: is a directory" without naming it.
func checkFiles(files []string) error {
	for _, f := range files {
		if f == "-" || strings.HasPrefix(f, OCIPrefix) {
			continue
		}
		st, err := os.Stat(f)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("compose file %s (-f): no such file", f)
		case err != nil:
			return fmt.Errorf("compose file %s (-f): %w", f, err)
		case st.IsDir():
			return fmt.Errorf("compose file %s (-f) is a directory: name a file, or use --project-directory", f)
		}
	}
	return nil
}

// Load loads the project (see LoadSpec) and returns the model berth runs.
func Load(ctx context.Context, opts Options) (*Project, error) {
	spec, err := LoadSpec(ctx, opts)
	if err != nil {
		return nil, err
	}
	p, err := FromSpec(spec)
	if err != nil {
		return nil, inFiles(err, spec.ComposeFiles)
	}
	p.AllResources = opts.AllResources
	if opts.Compatibility || isTrue(spec.Environment[envCompatibility]) {
		for _, s := range p.Services {
			s.NameSeparator = "_"
		}
	}
	return p, nil
}

// envCompatibility turns on compatibility mode like --compatibility, from
// the environment or the project's .env, as in docker compose.
const envCompatibility = "COMPOSE_COMPATIBILITY"

// isTrue reads a boolean environment value as docker compose does
// (strconv.ParseBool: 1, t, true, TRUE, ...); anything else is false.
func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// checkServiceNames fails for a name that is no service of the project,
// enabled or not.
func checkServiceNames(p *types.Project, names []string) error {
	for _, n := range names {
		if _, ok := p.Services[n]; ok {
			continue
		}
		if _, ok := p.DisabledServices[n]; ok {
			continue
		}
		return fmt.Errorf("no such service: %s: the project's services are %s", n, strings.Join(p.ServiceNames(), ", "))
	}
	return nil
}

// inFiles names the compose file an error comes from when compose-go did
// not: the file that does not parse as YAML, or else the files loaded.
func inFiles(err error, files []string) error {
	msg := err.Error()
	for _, f := range files {
		if strings.Contains(msg, f) || strings.Contains(msg, filepath.Base(f)) {
			return err
		}
	}
	if strings.HasPrefix(msg, "yaml: ") {
		for _, f := range files {
			b, rerr := os.ReadFile(f)
			if rerr != nil {
				continue
			}
			var n yaml.Node
			if yerr := yaml.Unmarshal(b, &n); yerr != nil {
				return fmt.Errorf("%s: %w", f, yerr)
			}
		}
	}
	if len(files) == 0 {
		return err
	}
	return fmt.Errorf("%s: %w", strings.Join(files, ", "), err)
}

// oneLineError is an error whose message was joined into one line.
type oneLineError struct {
	msg string
	err error
}

func (e oneLineError) Error() string { return e.msg }
func (e oneLineError) Unwrap() error { return e.err }

// oneLine joins a message of several lines (compose-go's decoding errors
// list one per line, after a heading) into one, the way berth prints errors.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	msg = strings.ReplaceAll(msg, "decoding failed due to the following error(s):", "")
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return oneLineError{msg: strings.Join(parts, " "), err: err}
}

// loadError makes compose-go's errors read as one clear line.
func loadError(err error) error {
	if errors.Is(err, composeerrdefs.ErrNotFound) && strings.Contains(err.Error(), "no configuration file provided") {
		return fmt.Errorf("%w: looked for compose.yaml, compose.yml, docker-compose.yml and docker-compose.yaml in this directory and its parents; name one with -f FILE", ErrNoConfig)
	}
	return err
}

// withBuildContextServices adds to a selection of services those whose
// images their builds use (build.additional_contexts service:NAME), as
// docker compose does: they are built first.
func withBuildContextServices(p *types.Project, services []string) []string {
	if len(services) == 0 {
		return services
	}
	out := slices.Clone(services)
	for i := 0; i < len(out); i++ {
		s, ok := p.Services[out[i]]
		if !ok || s.Build == nil {
			continue
		}
		for _, c := range s.Build.AdditionalContexts {
			if dep, ok := strings.CutPrefix(c, types.ServicePrefix); ok && !slices.Contains(out, dep) {
				out = append(out, dep)
			}
		}
	}
	return out
}
