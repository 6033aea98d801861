package build

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/berth/berth/fscopy"
)

// StdinContext is what `docker build -` reads from standard input: a tar
// of the build context (plain or gzip-compressed), unpacked into Dir; or
// a Dockerfile alone, in Inline, with Dir an empty context.
type StdinContext struct {
	Dir    string
	Inline string
}

// maxStdinDockerfile bounds a Dockerfile read from standard input.
const maxStdinDockerfile = 1 << 20

// ReadStdinContext reads a build context or a Dockerfile from r (see
// StdinContext) into a new directory under tmp; remove removes it and is
// never nil.
func ReadStdinContext(r io.Reader, tmp string) (sc StdinContext, remove func(), retErr error) {
	remove = func() {}
	dir, err := os.MkdirTemp(tmp, "berth-stdin-context-")
	if err != nil {
		return sc, remove, fmt.Errorf("build context from standard input: %w", err)
	}
	remove = func() { os.RemoveAll(dir) }
	defer func() {
		if retErr != nil {
			remove()
			remove = func() {}
		}
	}()
	sc.Dir = dir
	br := bufio.NewReaderSize(r, 1024)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) {
		return sc, remove, fmt.Errorf("read the build context from standard input: %w", err)
	}
	switch {
	case len(head) == 0:
		return sc, remove, errors.New("build context from standard input: it is empty: pipe a Dockerfile or a tar of the context (berth image build - < Dockerfile)")
	case isGzip(head):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return sc, remove, fmt.Errorf("build context from standard input: %w", err)
		}
		defer zr.Close()
		if err := fscopy.ExtractTar(zr, dir); err != nil {
			return sc, remove, fmt.Errorf("build context from standard input (gzip tar): %w", err)
		}
	case isTar(head):
		if err := fscopy.ExtractTar(br, dir); err != nil {
			return sc, remove, fmt.Errorf("build context from standard input (tar): %w", err)
		}
	default:
		df, err := io.ReadAll(io.LimitReader(br, maxStdinDockerfile+1))
		if err != nil {
			return sc, remove, fmt.Errorf("read the Dockerfile from standard input: %w", err)
		}
		if len(df) > maxStdinDockerfile {
			return sc, remove, fmt.Errorf("the Dockerfile from standard input is larger than %d bytes: is it a tar in another compression than gzip?", maxStdinDockerfile)
		}
		sc.Inline = string(df)
	}
	return sc, remove, nil
}

func isGzip(head []byte) bool { return len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b }

// isTar reports a tar header: POSIX "ustar" magic at offset 257.
func isTar(head []byte) bool {
	return len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar"))
}
