package release

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Installer installs a release into Root for a machine of architecture Arch.
type Installer struct {
	// Root is the machine's root directory: / on the box itself, or the
	// mounted root of another machine's disk.
	Root string
	// Arch is the architecture of the machine Root belongs to; a release
	// for another is refused.
	Arch Arch
	// TempDir is where an archive is unpacked to be checked ("" is the
	// system's temporary directory).
	TempDir string
}

// Action says what Install did with one file.
type Action struct {
	// Path is the file's path on the box (relative to the root).
	Path string
	// Changed is false when the file was there as it is in the release.
	Changed bool
}

// Install installs the release at from: an archive
// (berth-VERSION-linux-ARCH.tar.gz) or the directory one unpacks into.
// It checks before writing anything: the archive against a SHA256SUMS
// beside it, when that lists it; the release's architecture; every file
// against the release's own SHA256SUMS. Then it writes each file of
// rootfs/ that differs from what Root has (so installing again changes
// nothing), each replaced at once; when a write fails, the files written so
// far are put back as they were.
func (in Installer) Install(from string) (Manifest, []Action, error) {
	st, err := os.Stat(from)
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("release %s: %w", from, err)
	}
	dir := from
	if !st.IsDir() {
		if err := checkBeside(from); err != nil {
			return Manifest{}, nil, err
		}
		tmp, err := os.MkdirTemp(in.TempDir, "berth-release-")
		if err != nil {
			return Manifest{}, nil, err
		}
		defer os.RemoveAll(tmp)
		f, err := os.Open(from)
		if err != nil {
			return Manifest{}, nil, err
		}
		dir, err = ExtractArchive(f, filepath.Base(from), tmp)
		f.Close()
		if err != nil {
			return Manifest{}, nil, err
		}
	}
	m, err := in.Check(dir)
	if err != nil {
		return Manifest{}, nil, err
	}
	actions, err := in.copyRoot(dir)
	return m, actions, err
}

// checkBeside checks an archive against the SHA256SUMS in its directory, as
// make release writes them, when there is one that lists it.
func checkBeside(archive string) error {
	f, err := os.Open(filepath.Join(filepath.Dir(archive), SumsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sums, err := ParseSums(filepath.Join(filepath.Dir(archive), SumsFile), f)
	if err != nil {
		return err
	}
	name := filepath.Base(archive)
	if _, ok := sums[name]; !ok {
		return nil
	}
	got, err := FileSum(archive)
	if err != nil {
		return err
	}
	return sums.Check(name, got)
}

// Check reads the release directory's manifest and checks its
// architecture and every file's checksum.
func (in Installer) Check(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("%s is not a berth release (no %s): %w", dir, ManifestFile, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return Manifest{}, err
	}
	if m.Arch != in.Arch {
		return Manifest{}, fmt.Errorf("%s is for %s, but the machine is %s: install berth-%s-linux-%s.tar.gz (or give --arch when --root is another machine's disk)", m.Name(), m.Arch, in.Arch, m.Version, in.Arch)
	}
	f, err := os.Open(filepath.Join(dir, SumsFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: no %s: the archive is incomplete; fetch it again", m.Name(), SumsFile)
	}
	defer f.Close()
	want, err := ParseSums(SumsFile, f)
	if err != nil {
		return Manifest{}, err
	}
	got, err := SumDir(dir)
	if err != nil {
		return Manifest{}, err
	}
	for name, sum := range got {
		if err := want.Check(name, sum); err != nil {
			return Manifest{}, err
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			return Manifest{}, fmt.Errorf("%s: %s is missing: the archive is incomplete; fetch it again", m.Name(), name)
		}
	}
	for _, b := range m.Binaries() {
		if _, ok := got[RootDir+"/"+b]; !ok {
			return Manifest{}, fmt.Errorf("%s: %s is missing: the archive is incomplete; fetch it again", m.Name(), b)
		}
	}
	return m, nil
}

// copyRoot writes rootfs/ into the root.
func (in Installer) copyRoot(dir string) (_ []Action, retErr error) {
	src := filepath.Join(dir, RootDir)
	files, err := listFiles(src)
	if err != nil {
		return nil, err
	}
	var actions []Action
	var done []replaced
	defer func() {
		for i := len(done) - 1; i >= 0; i-- {
			done[i].finish(retErr != nil)
		}
	}()
	for _, rel := range files {
		from := filepath.Join(src, filepath.FromSlash(rel))
		to := filepath.Join(in.Root, filepath.FromSlash(rel))
		same, err := sameFile(from, to)
		if err != nil {
			return nil, err
		}
		if same {
			actions = append(actions, Action{Path: "/" + rel})
			continue
		}
		r, err := replaceFile(from, to)
		if err != nil {
			return nil, fmt.Errorf("install /%s: %w", rel, err)
		}
		done = append(done, r)
		actions = append(actions, Action{Path: "/" + rel, Changed: true})
	}
	return actions, nil
}

// sameFile says whether to already has from's content and mode.
func sameFile(from, to string) (bool, error) {
	ts, err := os.Stat(to)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fs, err := os.Stat(from)
	if err != nil {
		return false, err
	}
	if !ts.Mode().IsRegular() || ts.Size() != fs.Size() || ts.Mode().Perm() != fs.Mode().Perm() {
		return false, nil
	}
	a, err := os.ReadFile(from)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(to)
	if err != nil {
		return false, err
	}
	return bytes.Equal(a, b), nil
}

// replaced is a file replaceFile put in place: old is the file it
// replaced, kept aside until the install is done; made are the
// directories it created, outermost first.
type replaced struct {
	to, old string
	made    []string
}

// finish drops the old file, or with undo puts it back (and removes
// what was created).
func (r replaced) finish(undo bool) {
	if !undo {
		if r.old != "" {
			os.Remove(r.old)
		}
		return
	}
	if r.old != "" {
		os.Rename(r.old, r.to) //nolint:errcheck // best effort rollback; the install error is reported
	} else {
		os.Remove(r.to)
	}
	for i := len(r.made) - 1; i >= 0; i-- {
		os.Remove(r.made[i])
	}
}

// replaceFile puts from at to at once (written aside, renamed over it),
// creating its directory, and keeps a link to the file it replaces.
func replaceFile(from, to string) (_ replaced, retErr error) {
	r := replaced{to: to}
	dir := filepath.Dir(to)
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		r.made = append([]string{d}, r.made...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	defer func() {
		if retErr != nil { // to is as it was: only remove the directories made for it
			for i := len(r.made) - 1; i >= 0; i-- {
				os.Remove(r.made[i])
			}
		}
	}()
	st, err := os.Stat(from)
	if err != nil {
		return r, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(to)+".new-")
	if err != nil {
		return r, err
	}
	defer os.Remove(tmp.Name()) // renamed away on success
	src, err := os.Open(from)
	if err != nil {
		tmp.Close()
		return r, err
	}
	_, err = io.Copy(tmp, src)
	src.Close()
	if err == nil {
		err = tmp.Chmod(st.Mode().Perm())
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return r, err
	}
	if _, err := os.Lstat(to); err == nil {
		old := to + ".berth-old"
		os.Remove(old) // left by an install that was killed
		if err := os.Link(to, old); err != nil {
			return r, fmt.Errorf("keep the old file aside: %w", err)
		}
		r.old = old
	}
	if err := os.Rename(tmp.Name(), to); err != nil {
		if r.old != "" {
			os.Remove(r.old)
		}
		return r, err
	}
	return r, nil
}
