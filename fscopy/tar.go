package fscopy

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// tarWriter is the sink that writes the entries as a tar stream, with
// their owners, modes and times, as docker cp writes one for "-".
type tarWriter struct{ tw *tar.Writer }

func (w *tarWriter) put(e *entry) error {
	h := &tar.Header{
		Name:    e.name,
		Mode:    tarMode(e.mode),
		Uid:     e.uid,
		Gid:     e.gid,
		ModTime: e.mtime,
		Format:  tar.FormatPAX,
	}
	switch {
	case e.hard:
		h.Typeflag, h.Linkname = tar.TypeLink, e.link
	case e.mode.IsDir():
		h.Typeflag, h.Name = tar.TypeDir, strings.TrimSuffix(e.name, "/")+"/"
	case e.mode.IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, e.size
	case e.mode&fs.ModeSymlink != 0:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
	case e.mode&fs.ModeNamedPipe != 0:
		h.Typeflag = tar.TypeFifo
	case e.mode&fs.ModeCharDevice != 0:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, int64(unix.Major(e.rdev)), int64(unix.Minor(e.rdev))
	case e.mode&fs.ModeDevice != 0:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeBlock, int64(unix.Major(e.rdev)), int64(unix.Minor(e.rdev))
	default:
		return fmt.Errorf("%s: cannot archive a file of type %s", e.name, e.mode.Type())
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write the tar stream: %w", err)
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	n, err := io.Copy(w.tw, e.body)
	if err == nil && n < e.size {
		err = fmt.Errorf("%s shrank while it was copied", e.name)
	}
	if err != nil {
		return fmt.Errorf("write the tar stream: %w", err)
	}
	return nil
}

func (w *tarWriter) finish() error { return w.tw.Close() }

// tarMode is a file's mode as tar keeps it (permission and the setuid,
// setgid and sticky bits).
func tarMode(m fs.FileMode) int64 {
	v := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

// readTar puts the entries of a tar stream into a sink. Names are taken
// relative to where the sink writes: a leading "/" is dropped, and a name
// that climbs out with ".." is refused.
func readTar(r io.Reader, to sink) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return to.finish()
		}
		if err != nil {
			return fmt.Errorf("read the tar stream: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX defaults for the entries that follow, which carry them
		}
		name, err := entryName(h.Name)
		if err != nil {
			return err
		}
		fi := h.FileInfo()
		e := &entry{name: name, mode: fi.Mode(), uid: h.Uid, gid: h.Gid, mtime: h.ModTime, size: h.Size}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeFifo:
		case tar.TypeSymlink:
			e.link = h.Linkname
		case tar.TypeLink:
			if e.link, err = entryName(h.Linkname); err != nil {
				return err
			}
			e.hard, e.mode = true, 0
		case tar.TypeChar, tar.TypeBlock:
			e.rdev = unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
		default:
			return fmt.Errorf("read the tar stream: %s: entry type %q is not supported", h.Name, h.Typeflag)
		}
		e.body = tr
		if err := to.put(e); err != nil {
			return err
		}
	}
}

// entryName cleans a tar entry's name, refusing one that leads out of
// the directory it is extracted in.
func entryName(name string) (string, error) {
	clean := path.Clean(strings.TrimLeft(name, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("read the tar stream: entry %q leads out of the destination directory", name)
	}
	return clean, nil
}
