package fscopy

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Request is one berth cp: a path in a service's container to a host path
// or to a tar stream ("-"), or the other way.
type Request struct {
	Service string
	// ContainerPath is the path in the container (relative ones are taken
	// from its /).
	ContainerPath string
	// HostPath is the path on the host (relative ones from the working
	// directory), or "-" for a tar stream on standard input or output.
	HostPath string
	// ToContainer says the copy goes from the host into the container.
	ToContainer bool
	// FollowLink follows a symlink given as the source (-L).
	FollowLink bool
	// Archive keeps the source's owners (-a); otherwise what is copied
	// into the container belongs to root, and what is copied out to the
	// user running berth.
	Archive bool
}

// ParseArgs reads cp's two arguments, one of which is SERVICE:PATH. As
// with docker cp, an argument starting with "/" or "." is a host path
// even if it holds a colon ("./a:b").
func ParseArgs(src, dst string) (Request, error) {
	srcService, srcPath, srcIn := splitArg(src)
	dstService, dstPath, dstIn := splitArg(dst)
	switch {
	case srcIn && dstIn:
		return Request{}, fmt.Errorf("cp %s %s: copying between containers is not supported: copy to the host, then from there", src, dst)
	case !srcIn && !dstIn:
		return Request{}, fmt.Errorf("cp %s %s: one of the paths must be SERVICE:PATH (e.g. berth cp web:/etc/hosts .); start a host path holding a colon with ./", src, dst)
	}
	r := Request{Service: srcService, ContainerPath: srcPath, HostPath: dst}
	if dstIn {
		r = Request{Service: dstService, ContainerPath: dstPath, HostPath: src, ToContainer: true}
	}
	if r.ContainerPath == "" {
		return Request{}, fmt.Errorf("cp: %q names no path in the container: write %s:/path", r.Service+":", r.Service)
	}
	if r.HostPath == "" {
		return Request{}, errors.New("cp: the host path is empty: give a path, or - for a tar stream")
	}
	return r, nil
}

func splitArg(arg string) (service, p string, inContainer bool) {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg, false
	}
	service, p, ok := strings.Cut(arg, ":")
	if !ok || service == "" {
		return "", arg, false
	}
	return service, p, true
}

// Copy carries out the request on the container whose root filesystem is
// at root on the host (its task's /proc/PID/root, or its mounted
// snapshot); stdin and stdout carry the tar stream of "-".
func Copy(req Request, root string, stdin io.Reader, stdout io.Writer) error {
	ctr, err := openTree(root, fmt.Sprintf("in the container of service %q", req.Service))
	if err != nil {
		return err
	}
	defer ctr.Close()
	what := fmt.Sprintf("copy %s:%s to %s", req.Service, req.ContainerPath, req.HostPath)
	if req.ToContainer {
		what = fmt.Sprintf("copy %s to %s:%s", req.HostPath, req.Service, req.ContainerPath)
	}
	if err := copyRequest(req, ctr, stdin, stdout); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func copyRequest(req Request, ctr *tree, stdin io.Reader, stdout io.Writer) error {
	switch {
	case req.HostPath == "-" && req.ToContainer:
		return extractTar(stdin, ctr, req.ContainerPath, owner(req, &Owner{}))
	case req.HostPath == "-":
		return writeTar(stdout, ctr, req.ContainerPath, req.FollowLink)
	}
	host, err := openTree("/", "on the host")
	if err != nil {
		return err
	}
	defer host.Close()
	hostPath, err := hostAbs(req.HostPath)
	if err != nil {
		return err
	}
	if req.ToContainer {
		return copyTree(host, hostPath, ctr, req.ContainerPath, req.FollowLink, owner(req, &Owner{}))
	}
	return copyTree(ctr, req.ContainerPath, host, hostPath, req.FollowLink, owner(req, &Owner{UID: os.Getuid(), GID: os.Getgid()}))
}

// owner is who owns what the copy writes: def, or with -a nil (the
// source's owners).
func owner(req Request, def *Owner) *Owner {
	if req.Archive {
		return nil
	}
	return def
}

// hostAbs makes a host path absolute, keeping a trailing "/" or "/."
// (which filepath.Abs would clean away, and which mean something to cp).
func hostAbs(p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the working directory: %w", err)
	}
	return wd + "/" + p, nil
}

// copyTree copies srcPath of one tree to dstPath of another, with docker
// cp's rules for files and directories (see place). With owner nil the
// copies keep the source's owners.
func copyTree(from *tree, srcPath string, to *tree, dstPath string, follow bool, owner *Owner) error {
	src, err := from.source(srcPath, follow)
	if err != nil {
		return err
	}
	dst, err := to.destination(dstPath)
	if err != nil {
		return err
	}
	dir, name, err := place(src.info.IsDir(), src.name, dst)
	if err != nil {
		return fmt.Errorf("%s %s %w", dstPath, to.where, err)
	}
	w := newWriter(to, dir, owner)
	wk := &walker{t: from, to: w, seen: map[fileID]string{}}
	if err := wk.walk(src.rel, name); err != nil {
		return err
	}
	return w.finish()
}

// writeTar writes srcPath of a tree as a tar stream, its top entry named
// as the path's last element (a directory's contents for "dir/.").
func writeTar(out io.Writer, from *tree, srcPath string, follow bool) error {
	src, err := from.source(srcPath, follow)
	if err != nil {
		return err
	}
	tw := &tarWriter{tw: tar.NewWriter(out)}
	wk := &walker{t: from, to: tw, seen: map[fileID]string{}}
	if err := wk.walk(src.rel, src.name); err != nil {
		return err
	}
	return tw.finish()
}

// extractTar unpacks a tar stream into dstPath of a tree, which must be
// an existing directory (as with docker cp -).
func extractTar(in io.Reader, to *tree, dstPath string, owner *Owner) error {
	dst, err := to.destination(dstPath)
	if err != nil {
		return err
	}
	if !dst.dir {
		return fmt.Errorf("%s %s is not an existing directory: a tar stream (-) is extracted into one", dstPath, to.where)
	}
	return readTar(in, newWriter(to, dst.rel, owner))
}

// ExtractTar unpacks a tar stream into dir, an existing directory on the
// host that nothing in the stream can write outside of (links and ".."
// are resolved inside it); what it writes belongs to root. This is how a
// build context sent on standard input (berth image build -) is unpacked.
func ExtractTar(in io.Reader, dir string) error {
	t, err := openTree(dir, "of the build context")
	if err != nil {
		return err
	}
	defer t.Close()
	return readTar(in, &withParents{sink: newWriter(t, "/", &Owner{}), seen: map[string]bool{".": true}})
}

// withParents puts the directories of each entry's path the stream did
// not list before it, as `tar cf - Dockerfile src/app.py` omits src/:
// docker build unpacks such a context, cp's stream must list them.
type withParents struct {
	sink
	seen map[string]bool
}

func (w *withParents) put(e *entry) error {
	var missing []string
	for dir := path.Dir(e.name); !w.seen[dir]; dir = path.Dir(dir) {
		missing = append(missing, dir)
		w.seen[dir] = true
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := w.sink.put(&entry{name: missing[i], mode: fs.ModeDir | 0o755, mtime: e.mtime}); err != nil {
			return err
		}
	}
	if e.mode.IsDir() {
		w.seen[e.name] = true
	}
	return w.sink.put(e)
}
