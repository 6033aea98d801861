//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// multiArchCache keeps Debian's arm64 busybox-static .deb between runs,
// keyed by its version, so that only the first run fetches it.
const multiArchCache = "/var/cache/berth/e2e"

var (
	armBusyboxOnce sync.Once
	armBusyboxPath string
	armBusyboxErr  error
)

// armBusybox is the path of an arm64 busybox-static binary: Debian's
// package of the version installed here, for arm64, fetched from the
// mirror apt uses (the amd64 package's URL with the architecture changed).
func armBusybox(t *testing.T) string {
	t.Helper()
	armBusyboxOnce.Do(func() { armBusyboxPath, armBusyboxErr = fetchArmBusybox() })
	if armBusyboxErr != nil {
		t.Fatalf("arm64 busybox-static: %v", armBusyboxErr)
	}
	return armBusyboxPath
}

func fetchArmBusybox() (string, error) {
	out, err := exec.Command("apt-get", "download", "--print-uris", "busybox-static").Output()
	if err != nil {
		return "", fmt.Errorf("apt-get download --print-uris busybox-static: %v", err)
	}
	// 'http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1%3a1.35.0-4_amd64.deb' busybox-static_1.35.0-4_amd64.deb 123 SHA256:…
	fields := strings.Fields(string(out))
	if len(fields) < 2 || !strings.HasSuffix(fields[1], "_amd64.deb") {
		return "", fmt.Errorf("apt-get download --print-uris busybox-static: unexpected %q (is this machine amd64?)", out)
	}
	url := strings.Trim(fields[0], "'")
	url = strings.TrimSuffix(url, "_amd64.deb") + "_arm64.deb"
	file := strings.TrimSuffix(fields[1], "_amd64.deb") + "_arm64.deb"
	if err := os.MkdirAll(multiArchCache, 0o755); err != nil {
		return "", err
	}
	deb := filepath.Join(multiArchCache, file)
	if _, err := os.Stat(deb); err != nil {
		resp, err := http.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		tmp, err := os.CreateTemp(multiArchCache, ".deb-*")
		if err != nil {
			return "", err
		}
		_, err = io.Copy(tmp, resp.Body)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), deb)
		}
		if err != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("GET %s: %w", url, err)
		}
	}
	dir := filepath.Join(multiArchCache, strings.TrimSuffix(file, ".deb"))
	bin := filepath.Join(dir, "bin", "busybox")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(multiArchCache, ".x-*")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		os.Remove(deb) // a broken download: fetch again next time
		return "", fmt.Errorf("dpkg-deb -x %s: %v: %s", deb, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(bin); serr == nil {
			return bin, nil // another test process made it meanwhile
		}
		return "", err
	}
	return bin, nil
}

// ociPlatform is an OCI platform of the test images.
type ociPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// ociDesc is an OCI descriptor.
type ociDesc struct {
	MediaType string       `json:"mediaType"`
	Digest    string       `json:"digest"`
	Size      int64        `json:"size"`
	Platform  *ociPlatform `json:"platform,omitempty"`
}

// layoutWriter writes blobs of an OCI image layout.
type layoutWriter struct {
	t   *testing.T
	dir string
}

func (w layoutWriter) blob(mediaType string, b []byte) ociDesc {
	sum := fmt.Sprintf("%x", sha256.Sum256(b))
	if err := os.WriteFile(filepath.Join(w.dir, "blobs", "sha256", sum), b, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return ociDesc{MediaType: mediaType, Digest: "sha256:" + sum, Size: int64(len(b))}
}

func (w layoutWriter) json(mediaType string, v any) ociDesc {
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.blob(mediaType, b)
}

// image writes a one-layer busybox image for the platform (the busybox
// binary with a few applets linked, /etc/passwd and a marker file naming
// the platform, with nonce so that each test's image has digests of its
// own) and returns its manifest's descriptor.
func (w layoutWriter) image(busybox string, p ociPlatform, nonce string) ociDesc {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		w.t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	add := func(h *tar.Header, body []byte) {
		h.Uid, h.Gid, h.Format = 0, 0, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			w.t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			w.t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, applet := range []string{"cat", "echo", "ls", "sh", "sleep", "true", "uname"} {
		add(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	}
	add(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\n")
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(passwd))}, passwd)
	marker := []byte(p.OS + "/" + p.Architecture + " " + nonce + "\n")
	add(&tar.Header{Name: "etc/platform", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(marker))}, marker)
	add(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil)
	if err := tw.Close(); err != nil {
		w.t.Fatal(err)
	}
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(layer.Bytes()))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer.Bytes()) //nolint:errcheck // a bytes.Buffer
	if err := zw.Close(); err != nil {
		w.t.Fatal(err)
	}
	layerDesc := w.blob("application/vnd.oci.image.layer.v1.tar+gzip", gz.Bytes())
	config := map[string]any{
		"architecture": p.Architecture, "os": p.OS,
		"created": "1970-01-01T00:00:00Z",
		"config":  map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": []string{"sh"}},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	}
	if p.Variant != "" {
		config["variant"] = p.Variant
	}
	configDesc := w.json("application/vnd.oci.image.config.v1+json", config)
	m := w.json("application/vnd.oci.image.manifest.v1+json", map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        configDesc,
		"layers":        []ociDesc{layerDesc},
	})
	m.Platform = &p
	return m
}

// multiArchImage is a test image with a linux/amd64 and a linux/arm64
// manifest in an OCI index.
type multiArchImage struct {
	// Index is the index's digest; Manifests the manifests' by
	// "os/arch".
	Index     string
	Manifests map[string]string
}

// pushMultiArchImage builds the multi-platform busybox image (this host's
// busybox for amd64, Debian's arm64 busybox-static for arm64) as an OCI
// layout and pushes it, index and both manifests, to registry/repo with
// skopeo.
func pushMultiArchImage(t *testing.T, registry, repo string) multiArchImage {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := layoutWriter{t: t, dir: dir}
	nonce := rand.Text()
	amd := w.image("/bin/busybox", ociPlatform{Architecture: "amd64", OS: "linux"}, nonce)
	arm := w.image(armBusybox(t), ociPlatform{Architecture: "arm64", OS: "linux", Variant: "v8"}, nonce)
	index := w.json("application/vnd.oci.image.index.v1+json", map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []ociDesc{amd, arm},
	})
	type annotated struct {
		ociDesc
		Annotations map[string]string `json:"annotations"`
	}
	top := map[string]any{
		"schemaVersion": 2,
		"manifests":     []annotated{{index, map[string]string{"org.opencontainers.image.ref.name": "multi"}}},
	}
	b, _ := json.Marshal(top)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--all", "--preserve-digests", "--dest-tls-verify=false",
		"oci:"+dir+":multi", "docker://"+registry+"/"+repo).CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy --all: %v: %s", err, out)
	}
	return multiArchImage{Index: index.Digest, Manifests: map[string]string{"linux/amd64": amd.Digest, "linux/arm64": arm.Digest}}
}

// registryManifests are the platforms and digests of the manifests the
// registry's index for registry/repo lists, "os/arch" → digest.
func registryManifests(t *testing.T, registry, repo, tag string) map[string]string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+registry+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var index struct {
		MediaType string    `json:"mediaType"`
		Manifests []ociDesc `json:"manifests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&index); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s/%s:%s: %s, %v", registry, repo, tag, resp.Status, err)
	}
	out := map[string]string{}
	for _, m := range index.Manifests {
		if m.Platform != nil {
			out[m.Platform.OS+"/"+m.Platform.Architecture] = m.Digest
		}
	}
	return out
}
