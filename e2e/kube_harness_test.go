//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/kube"
)

// kubeCluster is the single-node Kubernetes of scripts/kube-cluster.sh. The
// first test that needs it starts it (about 20-60 s); it then serves every
// test of the go test process and TestMain tears it down after the last one,
// failing the run when down leaves anything behind. Tests share it, so each
// works in its own namespace (kubeNamespace).
type kubeCluster struct {
	dir        string // the script's DIR: state, logs, kubeconfig
	kubeconfig string
	kubectlBin string
}

// kubeState guards the one cluster of the process.
var kubeState struct {
	once    sync.Once
	cluster *kubeCluster
	skip    string // why kube tests skip (binary not built)
	err     error  // why the cluster did not start
	lock    *os.File
}

// kubeLockPath is locked (flock) by the go test process that runs the
// cluster. A run that dies (a test timeout's panic skips TestMain's down)
// leaves its cluster up and its lock free: the next run takes that cluster
// down before it starts its own, so a crashed run does not fail the next.
const kubeLockPath = "/run/berth-e2e-kube.lock"

// takeKubeCluster locks kubeLockPath for this process and takes down the
// clusters that dead runs left in their directories.
func takeKubeCluster() error {
	f, err := os.OpenFile(kubeLockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		// Another go test process (another worktree's) has its cluster up:
		// this one waits for it to end (go test's -timeout bounds it).
		fmt.Printf("e2e: waiting for another go test process's test cluster to end (it holds %s)\n", kubeLockPath)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", kubeLockPath, err)
		}
	}
	kubeState.lock = f // held until the process exits
	stale, _ := filepath.Glob(filepath.Join(os.TempDir(), "berth-e2e-kube*"))
	for _, dir := range stale {
		if out, err := kubeScript("down", dir); err != nil {
			return fmt.Errorf("kube-cluster.sh down %s (left by a dead e2e run): %v\n%s", dir, err, out)
		}
		os.RemoveAll(dir)
		fmt.Printf("e2e: took down the kube cluster a dead run left in %s\n", dir)
	}
	return nil
}

// kubeBinDir is where scripts/build-kube.sh puts berth-kube for the
// Kubernetes release scripts/kube/go.mod names, as kube-cluster.sh finds it
// (BERTH_KUBE_DIR overrides, as for the scripts). The cache of another
// release (an older build left on the machine) is never used: its commands
// are not the ones the scripts of this tree start.
func kubeBinDir() string {
	if d := os.Getenv("BERTH_KUBE_DIR"); d != "" {
		return d
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "kube", "go.mod"))
	if err != nil {
		return ""
	}
	m := kubeRelease.FindSubmatch(gomod)
	if m == nil {
		return ""
	}
	return "/usr/local/lib/berth/kube-" + string(m[1])
}

// kubeRelease finds the k8s.io/kubernetes requirement of scripts/kube/go.mod.
var kubeRelease = regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes (v1\.[0-9]+\.[0-9]+)\s*$`)

// needKubeCluster returns the running cluster, starting it on first use. It
// skips the test when berth-kube is not built (make kube) and fails it when
// the cluster does not come up, with the script's output (which names the
// component and ends with its log tail).
func needKubeCluster(t testing.TB) *kubeCluster {
	t.Helper()
	kubeState.once.Do(startKubeCluster)
	if kubeState.skip != "" {
		t.Skip(kubeState.skip)
	}
	if kubeState.err != nil {
		t.Fatal(kubeState.err)
	}
	return kubeState.cluster
}

func startKubeCluster() {
	bin := kubeBinDir()
	if bin == "" || exec.Command(filepath.Join(bin, "berth-kube"), "kubectl", "version", "--client").Run() != nil {
		kubeState.skip = "berth-kube with kubectl is not built in " + bin + ": run `make kube` (scripts/build-kube.sh) first"
		return
	}
	if err := takeKubeCluster(); err != nil {
		kubeState.err = err
		return
	}
	dir, err := os.MkdirTemp("", "berth-e2e-kube")
	if err != nil {
		kubeState.err = err
		return
	}
	start := time.Now()
	out, err := kubeScript("up", dir)
	if err != nil {
		kubeState.err = fmt.Errorf("kube-cluster.sh up: %v\n%s", err, out)
		os.RemoveAll(dir)
		return
	}
	fmt.Printf("e2e: kube cluster up in %s (%s)\n", time.Since(start).Round(time.Second), dir)
	kubeState.cluster = &kubeCluster{
		dir:        dir,
		kubeconfig: filepath.Join(dir, "kubeconfig"),
		kubectlBin: filepath.Join(bin, "kubectl"),
	}
}

// stopKubeCluster tears the cluster down if a test started it. It returns
// false when down failed or left something behind; the logs are then kept
// and their directory printed.
func stopKubeCluster() bool {
	c := kubeState.cluster
	if c == nil {
		return true
	}
	start := time.Now()
	out, err := kubeScript("down", c.dir)
	if err != nil {
		fmt.Printf("e2e: kube-cluster.sh down: %v\n%s\ne2e: logs kept in %s\n", err, out, filepath.Join(c.dir, "logs"))
		return false
	}
	fmt.Printf("e2e: kube cluster down in %s\n", time.Since(start).Round(time.Second))
	os.RemoveAll(c.dir)
	return true
}

func kubeScript(verb, dir string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "scripts", "kube-cluster.sh"), verb, dir)
	// The converter's default Job waiter image may name another kubectl
	// release than the cluster's; the cluster's kubectl image answers to
	// that name too.
	cmd.Env = append(os.Environ(), "BERTH_KUBE_DIR="+kubeBinDir(), "KUBE_CLUSTER_KUBECTL_IMAGES="+kube.DefaultJobWaitImage)
	return cmd.CombinedOutput()
}

// kubectl runs kubectl against the cluster and returns its stdout and error
// (stderr included in the error).
func (c *kubeCluster) kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.kubectlBin, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// mustKubectl is kubectl that fails the test on error.
func (c *kubeCluster) mustKubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apply applies a manifest given as text.
func (c *kubeCluster) apply(t testing.TB, namespace, manifest string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(f, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	c.mustKubectl(t, "-n", namespace, "apply", "-f", f)
}

var nonKubeName = regexp.MustCompile(`[^a-z0-9]+`)

// kubeNamespace makes a namespace named after the test and deletes it, with
// everything in it, when the test ends.
func (c *kubeCluster) kubeNamespace(t testing.TB) string {
	t.Helper()
	ns := strings.Trim(nonKubeName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(ns) > 50 {
		ns = strings.Trim(ns[:50], "-")
	}
	c.mustKubectl(t, "create", "namespace", ns)
	t.Cleanup(func() {
		if _, err := c.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=120s"); err != nil {
			t.Errorf("delete namespace: %v", err)
		}
	})
	return ns
}

// waitKube polls cond until it holds or the deadline passes; cond returns
// what it saw, for the failure message.
func waitKube(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, seen)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
