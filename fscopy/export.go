package fscopy

import (
	"archive/tar"
	"fmt"
	"io"
	"slices"
)

// Export writes the whole tree at root (a container's filesystem) to w as
// one tar stream, as docker export does: entries named from the root
// ("etc/passwd", no leading "/" or "./"), owners, modes and times kept,
// symlinks archived as symlinks, files with several names as hard links.
// The contents of kernel filesystems (/proc, /sys) are left out, and so
// are the entries of root named in exclude, with all under them (the
// mount points of what the runtime adds to a container).
func Export(root string, w io.Writer, exclude ...string) error {
	t, err := openTree(root, "in the container")
	if err != nil {
		return err
	}
	defer t.Close()
	d, err := t.root.Open(".")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	slices.Sort(names)
	tw := &tarWriter{tw: tar.NewWriter(w)}
	wk := &walker{t: t, to: tw, seen: map[fileID]string{}}
	for _, n := range names {
		if slices.Contains(exclude, n) {
			continue
		}
		if err := wk.walk(n, n); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return tw.finish()
}
