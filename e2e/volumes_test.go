//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVolumes(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    volumes:
      - data:/data
      - ./conf:/conf:ro
      - ./made:/made
      - type: tmpfs
        target: /cache
    command:
      - sh
      - -c
      - |
        if [ -f /data/first ]; then echo "found $$(cat /data/first)"; else echo run-1 > /data/first; echo "wrote"; fi
        cat /conf/setting
        echo x > /conf/x 2>/dev/null && echo conf-writable || echo conf-readonly
        echo made > /made/file
        grep -q ' /cache tmpfs ' /proc/mounts && echo cache-tmpfs
        sleep 600
volumes:
  data: {}
`, map[string]string{"conf/setting": "setting=1\n"})
	volumeDir := berthDataDir() + "/volumes/" + p.name + "_data"
	logs := func(want string) string {
		var out string
		p.waitFor("app to print "+want, 10*time.Second, func() bool {
			out = p.must("logs", "--no-log-prefix", "app").stdout
			return strings.Contains(out, want)
		})
		return out
	}

	p.must("up", "-d")
	out := logs("cache-tmpfs")
	for _, want := range []string{"wrote", "setting=1", "conf-readonly"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(p.dir, "made", "file")); err != nil || string(b) != "made\n" {
		t.Errorf("bind mount source ./made: %q, %v (it must be created and written through)", b, err)
	}

	// down keeps named volumes; up finds the data again.
	p.must("down")
	if _, err := os.Stat(volumeDir); err != nil {
		t.Fatalf("down removed the named volume: %v", err)
	}
	p.must("up", "-d")
	logs("found run-1")

	// down -v removes it.
	p.must("down", "-v")
	if _, err := os.Stat(volumeDir); !os.IsNotExist(err) {
		t.Errorf("down -v left %s (%v)", volumeDir, err)
	}
}

// TestVolumeFilledFromImage: an empty named volume takes the image's
// content at its mount path on first use (owners and modes kept), as
// Docker does and as database images rely on; nocopy keeps it empty; a
// volume with content is left alone.
func TestVolumeFilledFromImage(t *testing.T) {
	p := newProject(t, `
services:
  app:
    build: .
    command: ["sh", "-c", "ls -ln /data | tail -n +2 | awk '{print $1, $3, $9}'; stat -c '%u %a' /data"]
    volumes: [data:/data]
  empty:
    build: .
    command: ["sh", "-c", "echo files: $(ls /data | wc -l)"]
    volumes:
      - type: volume
        source: other
        target: /data
        volume: {nocopy: true}
volumes:
  data: {}
  other: {}
`, map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN mkdir /data && echo seed > /data/seed.txt && chmod 600 /data/seed.txt && chown -R 1234:1234 /data && chmod 750 /data\n"})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest", "docker.io/library/"+p.name+"-empty:latest")
	p.must("up", "-d")
	p.waitFor("both to finish", 30*time.Second, func() bool {
		ps := p.ps(true)
		return len(ps) == 2 && ps[0].State == "exited" && ps[1].State == "exited"
	})
	if logs := p.must("logs", "--no-log-prefix", "app").stdout; logs != "-rw------- 1234 seed.txt\n1234 750\n" {
		t.Errorf("the volume was not filled from the image as it is there:\n%q", logs)
	}
	if logs := p.must("logs", "--no-log-prefix", "empty").stdout; logs != "files: 0\n" {
		t.Errorf("nocopy volume: %q", logs)
	}
	// Content written to the volume survives, and is not overwritten.
	data := berthDataDir() + "/volumes/" + p.name + "_data/_data"
	if err := os.WriteFile(data+"/seed.txt", []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.must("up", "-d", "--force-recreate", "app")
	if b, _ := os.ReadFile(data + "/seed.txt"); string(b) != "changed" {
		t.Errorf("a volume with content was filled again: %q", b)
	}
}

// TestVolumeCommands: volume ls and inspect show the project's volumes
// where their content is; rm refuses a volume a container mounts and
// removes it once the container is gone; a volume an older berth made,
// without metadata, is listed and removed too.
func TestVolumeCommands(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sh", "-c", "echo hello > /data/greeting; sleep 600"]
    volumes: [data:/data]
volumes:
  data:
    labels: {backup: daily}
`, nil)
	name := p.name + "_data"
	mountpoint := berthDataDir() + "/volumes/" + name + "/_data"
	legacy := berthDataDir() + "/volumes/" + p.name + "_legacy"
	t.Cleanup(func() { os.RemoveAll(legacy) })

	p.must("up", "-d")
	p.waitFor("app to write into its volume", 10*time.Second, func() bool {
		b, _ := os.ReadFile(mountpoint + "/greeting")
		return string(b) == "hello\n"
	})
	if err := os.MkdirAll(legacy+"/_data", 0o755); err != nil {
		t.Fatal(err)
	}

	if out := p.must("volume", "ls").stdout; !strings.Contains(out, "DRIVER    VOLUME NAME\n") || !strings.Contains(out, "local     "+name+"\n") || !strings.Contains(out, p.name+"_legacy\n") {
		t.Errorf("volume ls:\n%s", out)
	}
	if out := p.must("volume", "ls", "-q").stdout; out != name+"\n"+p.name+"_legacy\n" {
		t.Errorf("volume ls -q = %q", out)
	}
	type volume struct {
		Name, Driver, Mountpoint, Scope, CreatedAt string
		Labels                                     map[string]string
	}
	var listed volume
	line, _, _ := strings.Cut(p.must("volume", "ls", "--format", "json").stdout, "\n")
	if err := json.Unmarshal([]byte(line), &listed); err != nil {
		t.Fatalf("volume ls --format json: %q: %v", line, err)
	}
	created, err := time.Parse(time.RFC3339, listed.CreatedAt)
	if listed.Name != name || listed.Driver != "local" || listed.Scope != "local" || listed.Mountpoint != mountpoint ||
		err != nil || time.Since(created) > 10*time.Minute ||
		listed.Labels["backup"] != "daily" || listed.Labels["com.docker.compose.project"] != p.name || listed.Labels["com.docker.compose.volume"] != "data" {
		t.Errorf("volume ls --format json: %+v (created: %v)", listed, err)
	}
	for _, arg := range []string{"data", name} {
		var inspected []volume
		out := p.must("volume", "inspect", arg).stdout
		if err := json.Unmarshal([]byte(out), &inspected); err != nil || len(inspected) != 1 || inspected[0].Mountpoint != mountpoint || inspected[0].Labels["backup"] != "daily" {
			t.Errorf("volume inspect %s: %v\n%s", arg, err, out)
		}
	}
	if r := p.berth("volume", "inspect", "nope"); r.code == 0 || !strings.Contains(r.stderr, `"nope" is no volume of project `+p.name) || r.stdout != "" {
		t.Errorf("volume inspect of an unknown volume:\n%s", r)
	}

	// In use, even with -f, even stopped: refused, naming the container.
	for _, args := range [][]string{{"volume", "rm", "data"}, {"volume", "rm", "-f", "data", p.name + "_legacy"}} {
		r := p.berth(args...)
		if r.code == 0 || !strings.Contains(r.stderr, "volume "+name+" is in use by container "+p.name+"-app-1") || !strings.Contains(r.stderr, "berth rm -s app") {
			t.Errorf("volume rm of a volume in use:\n%s", r)
		}
	}
	p.must("stop", "app")
	if r := p.berth("volume", "rm", "data"); r.code == 0 || !strings.Contains(r.stderr, "in use by container "+p.name+"-app-1") {
		t.Errorf("volume rm of a volume a stopped container mounts:\n%s", r)
	}
	if _, err := os.Stat(legacy); err != nil {
		t.Errorf("a refused volume rm removed another volume named with it: %v", err)
	}
	if r := p.berth("volume", "rm", "nope"); r.code == 0 || !strings.Contains(r.stderr, `no such volume: "nope"`) {
		t.Errorf("volume rm of an unknown volume:\n%s", r)
	}

	p.must("rm", "-s", "-f", "app")
	if out := p.must("volume", "rm", "data", "legacy").stdout; out != name+"\n"+p.name+"_legacy\n" {
		t.Errorf("volume rm printed %q, want the names removed", out)
	}
	for _, dir := range []string{berthDataDir() + "/volumes/" + name, legacy} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("volume rm left %s (%v)", dir, err)
		}
	}
	if out := p.must("volume", "ls", "-q").stdout; out != "" {
		t.Errorf("volume ls -q after rm = %q", out)
	}
}

// TestVolumeDriverOpts: the local driver's bind (type: none, o: bind,
// device) and tmpfs options are honoured, and such volumes are in use while
// a container mounts them; others fail up before anything starts, naming
// the volume.
func TestVolumeDriverOpts(t *testing.T) {
	t.Parallel()
	device := t.TempDir()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sh", "-c", "echo hello > /data/file; grep ' /cache tmpfs ' /proc/mounts; exec sleep 600"]
    volumes: [data:/data, cache:/cache]
volumes:
  data:
    driver_opts: {type: none, o: bind, device: `+device+`}
  cache:
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=5m"}
`, nil)
	p.must("up", "-d")
	p.waitFor("the file in the bound device", 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(device, "file"))
		return err == nil && string(b) == "hello\n"
	})
	p.waitFor("the tmpfs", 10*time.Second, func() bool {
		out := p.must("logs", "--no-log-prefix", "app").stdout
		return strings.Contains(out, "/cache tmpfs") && strings.Contains(out, "size=5120k")
	})
	// In use, though mounted from its device or as a tmpfs: refused.
	for _, key := range []string{"data", "cache"} {
		if r := p.berth("volume", "rm", key); r.code == 0 || !strings.Contains(r.stderr, "volume "+p.name+"_"+key+" is in use by container "+p.name+"-app-1") {
			t.Errorf("volume rm %s while app uses it:\n%s", key, r)
		}
	}
	if _, err := os.Stat(filepath.Join(device, "file")); err != nil {
		t.Errorf("a refused volume rm removed the bound device's content: %v", err)
	}
	p.must("down", "-v")
	if _, err := os.Stat(filepath.Join(device, "file")); err != nil {
		t.Errorf("down -v removed the bound device's content: %v", err)
	}

	p.write("compose.yaml", `
services:
  app:
    image: `+testImage+`
    command: ["true"]
    volumes: [nfs:/data]
volumes:
  nfs:
    driver_opts: {type: nfs, o: "addr=127.0.0.1", device: ":/export"}
`)
	r := p.berth("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, `driver_opts type "nfs"`) || !strings.Contains(r.stderr, p.name+"_nfs") {
		t.Errorf("up with an nfs volume:\n%s", r)
	}
	if len(p.ps(true)) != 0 {
		t.Errorf("containers were made: %+v", p.ps(true))
	}
}

// TestTmpfsOptions: the short syntax's options reach the mount (size and
// mode, which berth once took as part of a directory name), the long
// syntax's mode too; and named volumes live in a directory only root can
// enter.
func TestTmpfsOptions(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    tmpfs: ["/short:size=1m,mode=700,noexec"]
    volumes:
      - data:/data
      - type: tmpfs
        target: /long
        tmpfs: {size: 2m, mode: 0750}
    command: [sh, -c, "grep ' /short \\| /long ' /proc/mounts; ls -d /short:size=1m,mode=700,noexec 2>&1; true"]
volumes:
  data: {}
`, nil)
	out := p.must("run", "--rm", "app").stdout
	for _, want := range []string{"/short tmpfs", "size=1024k", "mode=700", "noexec", "/long tmpfs", "size=2048k", "mode=750", "No such file or directory"} {
		if !strings.Contains(out, want) {
			t.Errorf("mounts lack %q:\n%s", want, out)
		}
	}
	if st, err := os.Stat(berthDataDir() + "/volumes"); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf(berthDataDir()+"/volumes: %v, %v; want mode 0700", st.Mode(), err)
	}
}
