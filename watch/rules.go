package watch

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd/build"
)

// ephemeral are the files editors and tools write for a moment (swap and
// backup files, the files vim writes to test a directory) and .git: no
// rule acts on them, as docker compose's watch ignores them.
var ephemeral = []string{".git", "**/.git", "**/*.swp", "**/*.swx", "**/*~", "**/.#*", "**/#*#", "**/4913", "**/.DS_Store"}

// rule is a develop.watch rule of a service with its patterns compiled.
type rule struct {
	service string
	index   int // in the service's develop.watch
	compose.WatchRule
	include *patternmatcher.PatternMatcher // nil: every path
	ignore  *patternmatcher.PatternMatcher // relative to Path
	// dockerignore is the service's build context's .dockerignore, nil
	// without a build section; paths are relative to contextDir.
	dockerignore func(rel string) (bool, error)
	contextDir   string
}

// newRules compiles the watch rules of service s.
func newRules(s *compose.Service) ([]*rule, error) {
	var dockerignore func(string) (bool, error)
	var contextDir string
	if s.Build != nil && s.Build.Context != "" {
		c, err := build.OpenContext(s.Build.Context, s.Build.Dockerfile)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
		dockerignore, contextDir = c.Excluded, c.Root
	}
	var out []*rule
	for i, wr := range s.Watch {
		r := &rule{service: s.Name, index: i, WatchRule: wr, dockerignore: dockerignore, contextDir: contextDir}
		ign, err := patternmatcher.New(append(append([]string{}, ephemeral...), wr.Ignore...))
		if err != nil {
			return nil, fmt.Errorf("service %q: develop.watch[%d].ignore: %w", s.Name, i, err)
		}
		r.ignore = ign
		if len(wr.Include) > 0 {
			if r.include, err = patternmatcher.New(wr.Include); err != nil {
				return nil, fmt.Errorf("service %q: develop.watch[%d].include: %w", s.Name, i, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// rel is p relative to the rule's path, slash-separated ("." for the path
// itself), and whether p is the path or under it.
func (r *rule) rel(p string) (string, bool) {
	rel, err := filepath.Rel(r.Path, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// excluded reports whether the ignore patterns or the build context's
// .dockerignore leave out host path p (under the rule's path).
func (r *rule) excluded(p, rel string) bool {
	if rel != "." {
		if m, _ := r.ignore.MatchesOrParentMatches(rel); m {
			return true
		}
	} else if m, _ := r.ignore.MatchesOrParentMatches(filepath.Base(p)); m {
		return true
	}
	if r.dockerignore != nil {
		if crel, err := filepath.Rel(r.contextDir, p); err == nil && crel != ".." && !strings.HasPrefix(crel, ".."+string(filepath.Separator)) {
			if ex, _ := r.dockerignore(filepath.ToSlash(crel)); ex {
				return true
			}
		}
	}
	return false
}

// match reports whether a change of host path p triggers the rule.
func (r *rule) match(p string) bool {
	rel, ok := r.rel(p)
	if !ok || r.excluded(p, rel) {
		return false
	}
	if r.include != nil && rel != "." {
		m, _ := r.include.MatchesOrParentMatches(rel)
		return m
	}
	return true
}

// target is where host path p (under the rule's path) is in the container.
func (r *rule) target(p string) string {
	rel, _ := r.rel(p)
	return path.Join(r.Target, rel)
}

func (r *rule) String() string {
	return fmt.Sprintf("%s develop.watch[%d] (%s %s)", r.service, r.index, r.Action, r.Path)
}
