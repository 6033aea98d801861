package compose

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// PublishOptions are publish's --with-env and -y.
type PublishOptions struct {
	// WithEnv allows environment variables and env files in the artifact.
	WithEnv bool
	// Yes confirms what docker compose asks about: bind mounts and, with
	// WithEnv, the environment variables published.
	Yes bool
}

// PublishedFile is one file of a compose project published as an OCI
// artifact: a compose file or an env file.
type PublishedFile struct {
	// Env is set for an env file.
	Env bool
	// Name is the file's name in the artifact: a compose file's base name,
	// an env file's name as the published compose files refer to it.
	Name string
	Data []byte
}

// PublishFiles checks a project for publication as docker compose publish
// does and returns the files to publish: its compose files as written
// (with their env_file paths replaced by the names the env files get in
// the artifact) and, with WithEnv, the env files. spec must be loaded with
// every profile and with its env files kept (Options.KeepEnvFiles). It
// refuses, as docker compose does: services with a build section and no
// image, include:, environment variables and env files without WithEnv;
// where docker compose asks (bind mounts; the variables with WithEnv)
// berth fails unless Yes.
func PublishFiles(spec *types.Project, opts PublishOptions) ([]PublishedFile, error) {
	var out []PublishedFile
	var refs []envFileRef
	for _, file := range spec.ComposeFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		if hasInclude(data) {
			return nil, errors.New("cannot publish compose file with local includes")
		}
		data, fileRefs, err := renameEnvFiles(file, data, spec.WorkingDir)
		if err != nil {
			return nil, err
		}
		out = append(out, PublishedFile{Name: filepath.Base(file), Data: data})
		refs = append(refs, fileRefs...)
	}
	// compose-go merges env files into environment as it loads: the
	// files say which services have one.
	withEnvFile := map[string]bool{}
	for _, r := range refs {
		withEnvFile[r.service] = true
	}
	if err := checkPublishable(spec, opts, withEnvFile); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range refs {
		if seen[r.name] {
			continue
		}
		seen[r.name] = true
		content, err := os.ReadFile(r.path)
		if err != nil {
			continue // an optional env file that is not there, as docker compose skips it
		}
		out = append(out, PublishedFile{Env: true, Name: r.name, Data: content})
	}
	return out, nil
}

// checkPublishable refuses what docker compose publish refuses, in its
// words where scripts may read them.
func checkPublishable(spec *types.Project, opts PublishOptions, withEnvFile map[string]bool) error {
	// The variables the env files give count as the services' own, as
	// docker compose sees them (its loader merges them, keeping env_file).
	if resolved, err := spec.WithServicesEnvironmentResolved(false); err == nil {
		spec = resolved
	}
	var buildOnly []string
	for _, name := range spec.ServiceNames() {
		if s := spec.Services[name]; s.Image == "" && s.Build != nil {
			buildOnly = append(buildOnly, fmt.Sprintf("%q", name))
		}
	}
	if len(buildOnly) > 0 {
		// compose's words, on one line (compose lists them below it).
		return fmt.Errorf("your Compose stack cannot be published as it only contains a build section for service(s): %s; give these services an image: (pushed with berth push) to publish the stack", strings.Join(buildOnly, ", "))
	}
	var binds []string
	for _, name := range spec.ServiceNames() {
		for _, v := range spec.Services[name].Volumes {
			if v.Type == types.VolumeTypeBind {
				binds = append(binds, fmt.Sprintf("%s: %s:%s", name, v.Source, v.Target))
			}
		}
	}
	if len(binds) > 0 && !opts.Yes {
		return fmt.Errorf("you are about to publish bind mounts declaration within your OCI artifact (only the declarations, not the content): %s; check that they mount no sensitive directory of its users, then publish with -y", strings.Join(binds, ", "))
	}
	var declared, vars []string
	for _, name := range spec.ServiceNames() {
		s := spec.Services[name]
		if len(s.EnvFiles) > 0 || withEnvFile[name] {
			declared = append(declared, fmt.Sprintf("service %q has env_file declared.", name))
		}
		if len(s.Environment) > 0 {
			declared = append(declared, fmt.Sprintf("service %q has environment variable(s) declared.", name))
			keys := make([]string, 0, len(s.Environment))
			for k := range s.Environment {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			vars = append(vars, name+": "+strings.Join(keys, " "))
		}
	}
	for _, name := range sortedKeys(spec.Configs) {
		if spec.Configs[name].Environment != "" {
			declared = append(declared, fmt.Sprintf("config %q is declare as an environment variable.", name))
			vars = append(vars, "config "+name+": "+spec.Configs[name].Environment)
		}
	}
	if len(declared) > 0 && !opts.WithEnv {
		return errors.New(strings.Join(declared, "\n") + "\nTo avoid leaking sensitive data, you must either explicitly allow the sending of environment variables by using the --with-env flag,\nor remove sensitive data from your Compose configuration")
	}
	if len(vars) > 0 && !opts.Yes {
		return fmt.Errorf("you are about to publish environment variables within your OCI artifact (%s): check that they leak no sensitive data, then publish with --with-env -y", strings.Join(vars, "; "))
	}
	return nil
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hasInclude reports whether a compose file has a top-level include:.
func hasInclude(data []byte) bool {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, ok := top["include"]
	return ok
}

// envFileRef is an env file a compose file refers to: its path on the
// host and its name in the artifact.
type envFileRef struct{ service, path, name string }

// renameEnvFiles replaces the paths of the services' env_file entries in
// a compose file by the names the files get in the artifact (a hash of
// the path, as docker compose names them), and returns the files.
func renameEnvFiles(file string, data []byte, workingDir string) ([]byte, []envFileRef, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return data, nil, nil // compose-go read it; nothing to rename
	}
	services := mapValue(doc.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return data, nil, nil
	}
	var refs []envFileRef
	for i := 1; i < len(services.Content); i += 2 {
		service := services.Content[i-1].Value
		ef := mapValue(services.Content[i], "env_file")
		if ef == nil {
			continue
		}
		var paths []*yaml.Node
		switch ef.Kind {
		case yaml.ScalarNode:
			paths = append(paths, ef)
		case yaml.SequenceNode:
			for _, item := range ef.Content {
				if item.Kind == yaml.MappingNode {
					item = mapValue(item, "path")
				}
				if item != nil && item.Kind == yaml.ScalarNode {
					paths = append(paths, item)
				}
			}
		}
		for _, n := range paths {
			if strings.Contains(n.Value, "$") {
				return nil, nil, fmt.Errorf("%s line %d: env_file %s holds a variable: berth publishes env files named by plain paths only", file, n.Line, n.Value)
			}
			p := n.Value
			if !filepath.IsAbs(p) {
				p = filepath.Join(workingDir, p)
			}
			name := fmt.Sprintf("%x.env", sha256.Sum256([]byte(p)))
			refs = append(refs, envFileRef{service: service, path: p, name: name})
			n.Value, n.Style = name, 0
		}
	}
	if len(refs) == 0 {
		return data, nil, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	return buf.Bytes(), refs, nil
}

// mapValue is the value of key in a YAML mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
