package containerd

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// reservedEntry reports whether a layer's entry (named as tar names
// them: "dir/", "./dir/file", "/dir") is ReservedDir or under it.
func reservedEntry(name string) bool {
	n := strings.TrimPrefix(path.Clean("/"+name), "/")
	r := strings.TrimPrefix(ReservedDir, "/")
	return n == r || strings.HasPrefix(n, r+"/")
}

// filterLayer copies the gzip-compressed tar stream of a layer from r to
// w, compressed again, without the entries drop names. It returns the
// digest of the tar stream it wrote (the layer's diff ID) and how many
// entries it left out.
func filterLayer(r io.Reader, w io.Writer, drop func(name string) bool) (digest.Digest, int, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", 0, err
	}
	defer zr.Close()
	zw := gzip.NewWriter(w)
	diffID := digest.Canonical.Digester()
	tr, tw := tar.NewReader(zr), tar.NewWriter(io.MultiWriter(zw, diffID.Hash()))
	dropped := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
		if drop(h.Name) {
			dropped++
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return "", 0, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return "", 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, err
	}
	if err := zw.Close(); err != nil {
		return "", 0, err
	}
	return diffID.Digest(), dropped, nil
}

// withoutReserved is the committed layer desc without the mount points
// the runtime made for berth's mounts under ReservedDir (the probe
// agent's file and its tmpfs's directory): they are in the container's
// snapshot, so in the diff, but are berth's, not the container's. A layer
// without any is returned as it is; otherwise the layer is written again
// (the diff service cannot leave paths out), its uncompressed digest
// labelled as containerd's differ labels it.
func withoutReserved(ctx context.Context, cs content.Store, desc ocispec.Descriptor) (_ ocispec.Descriptor, retErr error) {
	ra, err := cs.ReaderAt(ctx, desc)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer ra.Close()
	ref := "berth-commit-layer-" + desc.Digest.Encoded()
	cw, err := content.OpenWriter(ctx, cs, content.WithRef(ref))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	committed := false
	defer func() {
		cw.Close() //nolint:errcheck // committed, or abandoned below
		if !committed {
			cs.Abort(context.WithoutCancel(ctx), ref) //nolint:errcheck // nothing was written, or it is of no use
		}
	}()
	if err := cw.Truncate(0); err != nil {
		return ocispec.Descriptor{}, err
	}
	diffID, dropped, err := filterLayer(content.NewReader(ra), cw, reservedEntry)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("leave %s out of its changes: %w", ReservedDir, err)
	}
	if dropped == 0 {
		return desc, nil
	}
	st, err := cw.Status()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	dgst := cw.Digest()
	labels := map[string]string{"containerd.io/uncompressed": diffID.String()}
	if err := cw.Commit(ctx, st.Offset, dgst, content.WithLabels(labels)); err != nil && !errdefs.IsAlreadyExists(err) {
		return ocispec.Descriptor{}, fmt.Errorf("leave %s out of its changes: %w", ReservedDir, err)
	}
	committed = true
	return ocispec.Descriptor{MediaType: desc.MediaType, Digest: dgst, Size: st.Offset}, nil
}
