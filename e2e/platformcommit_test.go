//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestPlatformCommitAndImageVolume: a service of platform linux/arm64 on
// this amd64 host, from an index holding both platforms, gets its image
// volume (the same index) as arm64 too, and commit of its container makes
// an arm64 image, not one of the host's manifest with arm64 changes on it.
func TestPlatformCommitAndImageVolume(t *testing.T) {
	loadDebianMulti(t)
	p := newProject(t, "", nil)
	image := "berth-e2e.local/" + p.name + "-committed:1"
	p.write("compose.yaml", `services:
  arm:
    image: `+debianMulti+`
    platform: linux/arm64
    command: ["sh", "-c", "echo changed > /committed; exec sleep 3600"]
    init: true
    volumes:
      - type: image
        source: `+debianMulti+`
        target: /vol
`)
	t.Cleanup(func() { p.berth("image", "rm", image) })
	p.must("up", "-d")
	p.waitFor("the container to write /committed", time.Minute, func() bool {
		return p.berth("exec", "arm", "cat", "/committed").code == 0
	})

	// ELF e_machine (offset 18): 183 aarch64, 62 x86_64.
	machine := func(path string) string {
		return strings.TrimSpace(p.must("exec", "arm", "od", "-An", "-tu2", "-j18", "-N2", path).stdout)
	}
	if own, vol := machine("/bin/dash"), machine("/vol/bin/dash"); own != "183" || vol != "183" {
		t.Errorf("e_machine of /bin/dash %s and of the image volume's /vol/bin/dash %s, want both 183 (aarch64)", own, vol)
	}

	p.must("commit", "arm", image)
	if got := imagePlatform(t, image); got != "linux/arm64" {
		t.Errorf("committed image %s is for %s, want linux/arm64", image, got)
	}
	r := runBerth(t, p.dir, nil, nil, 0, "container", "run", "--rm", image, "sh", "-c", "uname -m; cat /committed")
	if r.code != 0 || r.stdout != "aarch64\nchanged\n" {
		t.Errorf("run of the committed image: want aarch64 and the committed file, got %s", r)
	}
}
