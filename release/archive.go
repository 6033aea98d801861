package release

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// WriteArchive writes the release directory dir as a gzipped tar whose
// entries sit under dir's base name. The same files give the same bytes:
// entries are sorted, every time is mtime, owners are root, modes are
// 0755 (directories and executables) or 0644, and gzip records no name or
// time.
func WriteArchive(w io.Writer, dir string, mtime time.Time) error {
	top := filepath.Base(dir)
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return fmt.Errorf("%s: only files and directories go into a release archive", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("read release directory: %w", err)
	}
	sort.Strings(names)
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, rel := range names {
		if err := addEntry(tw, dir, top, rel, mtime.UTC().Truncate(time.Second)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func addEntry(tw *tar.Writer, dir, top, rel string, mtime time.Time) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	name := path.Join(top, rel)
	hdr := &tar.Header{Name: name, ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
	switch {
	case st.IsDir():
		hdr.Typeflag, hdr.Mode, hdr.Name = tar.TypeDir, 0o755, name+"/"
	default:
		hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, st.Size()
		if st.Mode()&0o111 != 0 {
			hdr.Mode = 0o755
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	return nil
}

// ExtractArchive unpacks a release archive into dest and returns the
// release directory it holds (dest/<top>). It takes only files and
// directories, all under one top directory, with no path leaving it; a
// damaged or truncated archive fails.
func ExtractArchive(r io.Reader, name, dest string) (string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", fmt.Errorf("%s: not a gzipped release archive: %w", name, err)
	}
	tr := tar.NewReader(zr)
	top := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%s: damaged or truncated archive: %w; fetch it again", name, err)
		}
		clean := path.Clean(hdr.Name)
		if path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			return "", fmt.Errorf("%s: entry %q leaves the release directory", name, hdr.Name)
		}
		first, _, _ := strings.Cut(clean, "/")
		if top == "" {
			top = first
		} else if first != top {
			return "", fmt.Errorf("%s: entries under both %s/ and %s/: a release archive has one top directory", name, top, first)
		}
		target := filepath.Join(dest, filepath.FromSlash(clean))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := writeEntry(tr, target, hdr.FileInfo().Mode().Perm()); err != nil {
				return "", fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
			}
		default:
			return "", fmt.Errorf("%s: entry %q is not a file or directory; a release archive holds only those", name, hdr.Name)
		}
	}
	if err := zr.Close(); err != nil {
		return "", fmt.Errorf("%s: damaged archive: %w; fetch it again", name, err)
	}
	if top == "" {
		return "", fmt.Errorf("%s: the archive is empty", name)
	}
	return filepath.Join(dest, top), nil
}

func writeEntry(r io.Reader, target string, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm&0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("damaged or truncated archive: %w; fetch it again", err)
	}
	return f.Close()
}
