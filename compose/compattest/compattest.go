// Package compattest reads the compose conformance corpus (../shared/compat
// beside the repository) for tests: its samples, and the compose.Options
// the conformance runner loads each with, so that every test walking the
// corpus loads it as `make compat` does.
package compattest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth/berth/compose"
)

// Sample is one fixture of the corpus's manifest.json.
type Sample struct {
	Source string            `json:"source"`
	ID     string            `json:"id"`
	Files  []string          `json:"files"`
	Args   []string          `json:"args"`
	Env    map[string]string `json:"env"`
	Skip   any               `json:"skip"`
}

// Dir is the corpus: $BERTH_COMPAT_DIR, else shared/compat beside the
// repository whose root is repoRoot (or one level further up, for a
// worktree). The test is skipped without it.
func Dir(t testing.TB, repoRoot string) string {
	t.Helper()
	for _, c := range []string{os.Getenv("BERTH_COMPAT_DIR"), filepath.Join(repoRoot, "..", "shared", "compat"), filepath.Join(repoRoot, "..", "..", "shared", "compat")} {
		if c == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c, "manifest.json")); err == nil {
			return c
		}
	}
	t.Skip("no compose conformance corpus (set BERTH_COMPAT_DIR to ../shared/compat)")
	return ""
}

// Samples are the corpus's samples that the runner does not skip.
func Samples(t testing.TB, dir string) []Sample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct{ Samples []Sample }
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatalf("%s: %v", filepath.Join(dir, "manifest.json"), err)
	}
	var out []Sample
	for _, s := range manifest.Samples {
		if s.Skip == nil {
			out = append(out, s)
		}
	}
	return out
}

// LoadOptions are the compose.Options the runner loads s with, from the
// corpus in dir: its files, environment, profiles, project name and env
// files, and a HOME that does not exist.
func (s Sample) LoadOptions(dir string) compose.Options {
	corpus := filepath.Join(dir, "corpus", s.Source)
	opts := compose.Options{
		ProjectDir: filepath.Dir(filepath.Join(corpus, s.Files[0])),
		Environ:    []string{"HOME=/nonexistent/compat-home", "LANG=C.UTF-8"},
	}
	for k, v := range s.Env {
		opts.Environ = append(opts.Environ, k+"="+v)
	}
	for _, f := range s.Files {
		opts.Files = append(opts.Files, filepath.Join(corpus, f))
	}
	for args := s.Args; len(args) > 1; args = args[2:] {
		switch args[0] {
		case "--profile":
			opts.Profiles = append(opts.Profiles, args[1])
		case "-p", "--project-name":
			opts.ProjectName = args[1]
		case "--env-file":
			opts.EnvFiles = append(opts.EnvFiles, filepath.Join(opts.ProjectDir, args[1]))
		}
	}
	return opts
}
