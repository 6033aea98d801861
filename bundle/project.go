package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// projectName is compose's rule for a project name; a bundle's is a
// directory name on the box, so it is checked before any is made.
var projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// WriteProject writes a bundle's project files into each of dirs (made
// when missing), replacing the files of the same names and keeping the
// others (such as the secrets the box provides). Every file is written
// next to its place first and renamed into it only when all are written,
// so that a failure leaves the directories as they were, but for the
// directories made.
func WriteProject(b *Bundle, dirs ...string) (retErr error) {
	type pending struct{ tmp, dest string }
	var todo []pending
	defer func() {
		if retErr != nil {
			for _, p := range todo {
				os.Remove(p.tmp)
			}
		}
	}()
	for _, dir := range dirs {
		for _, f := range b.Manifest.Files {
			dest := filepath.Join(dir, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				return fmt.Errorf("write the project: %w", err)
			}
			mode := os.FileMode(0o644)
			if f.Secret {
				mode = 0o600
			}
			tmp, err := os.CreateTemp(filepath.Dir(dest), ".berth-bundle-*")
			if err != nil {
				return fmt.Errorf("write the project: %w", err)
			}
			todo = append(todo, pending{tmp: tmp.Name(), dest: dest})
			_, err = tmp.Write(b.Files[f.Path])
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Chmod(tmp.Name(), mode)
			}
			if err != nil {
				return fmt.Errorf("write the project: %s: %w", dest, err)
			}
		}
	}
	for i, p := range todo {
		if err := os.Rename(p.tmp, p.dest); err != nil {
			todo = todo[i:]
			return fmt.Errorf("write the project: %w", err)
		}
	}
	return nil
}
