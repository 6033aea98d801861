package compose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// OCIPrefix starts a compose file given as an OCI artifact in a registry
// (-f oci://REPO[:TAG]), as docker compose publish pushes one.
const OCIPrefix = "oci://"

// ArtifactFetcher reads a compose project published as an OCI artifact:
// the digest of its manifest and its files, compose files in their order.
type ArtifactFetcher interface {
	FetchCompose(ctx context.Context, ref string) (digest string, files []PublishedFile, err error)
}

// ociFiles is a compose-go ResourceLoader for -f oci://REPO[:TAG]: it
// fetches the artifact and writes its files into a directory of cache
// named by the manifest's digest (kept: a project's relative paths lead
// there), its compose files joined as the documents of one compose.yaml,
// as docker compose does.
type ociFiles struct {
	fetch ArtifactFetcher
	cache string
	// known are the directories of the references loaded.
	known map[string]string
}

func (o *ociFiles) Accept(p string) bool { return strings.HasPrefix(p, OCIPrefix) }

func (o *ociFiles) Dir(p string) string { return o.known[p] }

func (o *ociFiles) Load(ctx context.Context, p string) (string, error) {
	ref := strings.TrimPrefix(p, OCIPrefix)
	if o.fetch == nil {
		return "", fmt.Errorf("compose file %s: this command cannot read compose files from a registry", p)
	}
	digest, files, err := o.fetch.FetchCompose(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("compose file %s (-f): %w", p, err)
	}
	_, hex, ok := strings.Cut(digest, ":")
	if !ok || hex == "" || strings.ContainsAny(hex, `/\.`) {
		return "", fmt.Errorf("compose file %s: the registry named its manifest %q", p, digest)
	}
	dir := filepath.Join(o.cache, hex)
	if _, err := os.Stat(filepath.Join(dir, "compose.yaml")); err != nil {
		if err := writeArtifact(o.cache, dir, p, files); err != nil {
			return "", err
		}
	}
	file := filepath.Join(dir, "compose.yaml")
	content, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("compose file %s: %w", p, err)
	}
	if err := checkComposeFile(p, content); err != nil {
		return "", err
	}
	o.known[p] = dir
	return file, nil
}

// writeArtifact writes an artifact's files into dir, through a temporary
// directory renamed at the end, so that a failure leaves nothing half
// written for the next load to take.
func writeArtifact(cache, dir, p string, files []PublishedFile) (retErr error) {
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return fmt.Errorf("compose file %s: cache: %w", p, err)
	}
	tmp, err := os.MkdirTemp(cache, ".fetch-")
	if err != nil {
		return fmt.Errorf("compose file %s: cache: %w", p, err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(tmp)
		}
	}()
	var compose []byte
	n := 0
	for _, f := range files {
		if !f.Env {
			if n > 0 {
				compose = append(compose, "\n---\n"...)
			}
			compose = append(compose, f.Data...)
			n++
			continue
		}
		if f.Name == "" || f.Name == "." || f.Name == ".." || f.Name == "compose.yaml" || strings.ContainsAny(f.Name, `/\`) {
			return fmt.Errorf("compose file %s: invalid OCI artifact: env file name %q", p, f.Name)
		}
		if err := os.WriteFile(filepath.Join(tmp, f.Name), f.Data, 0o600); err != nil {
			return fmt.Errorf("compose file %s: %w", p, err)
		}
	}
	if n == 0 {
		return fmt.Errorf("compose file %s: invalid OCI artifact: it holds no compose file", p)
	}
	if err := os.WriteFile(filepath.Join(tmp, "compose.yaml"), compose, 0o600); err != nil {
		return fmt.Errorf("compose file %s: %w", p, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "compose.yaml")); serr == nil {
			os.RemoveAll(tmp) // another load wrote it meanwhile
			return nil
		}
		return fmt.Errorf("compose file %s: cache: %w", p, err)
	}
	return nil
}
