package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// BundleFile is a file a bundled project needs: Path is relative to the
// project directory, slash-separated.
type BundleFile struct {
	Path   string
	Data   []byte
	Secret bool
}

// BundleSecret is a secret of a bundled project: its file (relative to
// the project directory) or environment variable, and whether the bundle
// ships its file.
type BundleSecret struct {
	Name, File, Environment string
	Included                bool
}

// SecretFiles says whether a bundle ships the secrets' files.
type SecretFiles int

const (
	// SecretFilesLeftOut leaves them out: the box provides them.
	SecretFilesLeftOut SecretFiles = iota
	// SecretFilesIncluded ships them (create --include-secrets).
	SecretFilesIncluded
)

// BundleModel is the compose model of spec made to run anywhere from a
// directory of its own, for berth bundle create: what config prints, with
// each service's image set to images[service] and its build section
// dropped (the box runs the bundled images; it builds nothing, and
// pull_policy build becomes missing), and every file the model reads from
// the project directory copied and referred to by a relative path:
// env files under env/, file and content configs under configs/NAME,
// file secrets under secrets/NAME (their contents only with
// SecretFilesIncluded), bind-mount sources inside the project directory under
// mounts/. spec must be loaded with its env files kept
// (Options.KeepEnvFiles). Bind mounts of host paths outside the project
// stay as they are: the box must have them. The model holds no other host
// path.
func BundleModel(spec *types.Project, images map[string]string, secretFiles SecretFiles) ([]byte, []BundleFile, []BundleSecret, error) {
	b := &bundler{root: spec.WorkingDir, paths: map[string]string{}, taken: map[string]bool{}}
	out := *spec
	out.Services = types.Services{}
	for _, name := range spec.ServiceNames() {
		s := spec.Services[name]
		s.Build = nil
		s.Image = images[name]
		if s.Image == "" {
			return nil, nil, nil, fmt.Errorf("service %q: no image to bundle", name)
		}
		if s.PullPolicy == types.PullPolicyBuild {
			s.PullPolicy = types.PullPolicyMissing
		}
		var envFiles []types.EnvFile
		for _, ef := range s.EnvFiles {
			rel, err := b.addFile(ef.Path, "env", "")
			if errors.Is(err, fs.ErrNotExist) && !ef.Required {
				continue
			}
			if err != nil {
				return nil, nil, nil, fmt.Errorf("service %q: env_file: %w", name, err)
			}
			ef.Path = "./" + rel
			envFiles = append(envFiles, ef)
		}
		s.EnvFiles = envFiles
		volumes := make([]types.ServiceVolumeConfig, len(s.Volumes))
		for i, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind && b.inside(v.Source) {
				rel, err := b.addTree(v.Source)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("service %q: volume %s: %w", name, v.Target, err)
				}
				v.Source = "./" + rel
			}
			volumes[i] = v
		}
		s.Volumes = volumes
		out.Services[name] = s
	}
	if len(spec.Configs) > 0 {
		out.Configs = types.Configs{}
	}
	for _, name := range sortedNames(spec.Configs) {
		c := spec.Configs[name]
		switch {
		case c.File != "":
			rel, err := b.addFile(c.File, "configs", name)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("config %q: %w", name, err)
			}
			c.File = "./" + rel
		case c.Content != "":
			rel := b.reserve("configs", name)
			b.files = append(b.files, BundleFile{Path: rel, Data: []byte(c.Content)})
			c.File, c.Content = "./"+rel, ""
		}
		out.Configs[name] = c
	}
	var secrets []BundleSecret
	if len(spec.Secrets) > 0 {
		out.Secrets = types.Secrets{}
	}
	for _, name := range sortedNames(spec.Secrets) {
		sc := spec.Secrets[name]
		switch {
		case bool(sc.External):
		case sc.File != "" && secretFiles == SecretFilesIncluded:
			rel, err := b.addFile(sc.File, "secrets", name)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("secret %q: %w", name, err)
			}
			b.files[len(b.files)-1].Secret = true
			sc.File = "./" + rel
			secrets = append(secrets, BundleSecret{Name: name, File: rel, Included: true})
		case sc.File != "":
			rel := b.reserve("secrets", name)
			sc.File = "./" + rel
			secrets = append(secrets, BundleSecret{Name: name, File: rel})
		case sc.Environment != "":
			secrets = append(secrets, BundleSecret{Name: name, Environment: sc.Environment})
		}
		out.Secrets[name] = sc
	}
	model, err := out.MarshalYAML()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("render the bundle's compose model: %w", err)
	}
	// Values are interpolated: escape "$" as config does, so that the
	// model means the same when read back.
	model = bytes.ReplaceAll(model, []byte("$"), []byte("$$"))
	if b.root != "" && bytes.Contains(model, []byte(b.root)) {
		return nil, nil, nil, fmt.Errorf("the bundle's compose model still names the project directory %s: berth cannot bundle this project", b.root)
	}
	sort.Slice(b.files, func(i, j int) bool { return b.files[i].Path < b.files[j].Path })
	return model, b.files, secrets, nil
}

// bundler gathers a bundled project's files.
type bundler struct {
	root  string
	files []BundleFile
	// paths maps a host file to its path in the bundle; taken the paths
	// given out.
	paths map[string]string
	taken map[string]bool
}

// inside tells whether a host path is in the project directory.
func (b *bundler) inside(p string) bool {
	rel, err := filepath.Rel(b.root, p)
	return b.root != "" && err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// reserve gives out dir/name, or dir/name-2, … when that is taken.
func (b *bundler) reserve(dir, name string) string {
	p := path.Join(dir, name)
	for i := 2; b.taken[p]; i++ {
		p = path.Join(dir, fmt.Sprintf("%s-%d", name, i))
	}
	b.taken[p] = true
	return p
}

// addFile copies a host file into the bundle under dir (as name, else its
// own base name) and returns its path there; a file added before keeps
// its path.
func (b *bundler) addFile(host, dir, name string) (string, error) {
	if rel, ok := b.paths[host]; ok {
		return rel, nil
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", host, err)
	}
	if name == "" {
		name = filepath.Base(host)
	}
	rel := b.reserve(dir, name)
	b.paths[host] = rel
	b.files = append(b.files, BundleFile{Path: rel, Data: data})
	return rel, nil
}

// addTree copies a bind mount's source (a file or a directory's regular
// files) into the bundle under mounts/, at its path in the project
// directory. A source that does not exist is not copied: the box creates
// it, as the host would.
func (b *bundler) addTree(host string) (string, error) {
	rel, err := filepath.Rel(b.root, host)
	if err != nil {
		return "", err
	}
	dest := path.Join("mounts", filepath.ToSlash(rel))
	if rel == "." {
		dest = "mounts"
	}
	err = filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil // directories come with their files; links and devices are not copied
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r, err := filepath.Rel(host, p)
		if err != nil {
			return err
		}
		b.files = append(b.files, BundleFile{Path: path.Join(dest, filepath.ToSlash(r))})
		b.files[len(b.files)-1].Data = data
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return dest, nil
	}
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", host, err)
	}
	return dest, nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
