package netbridge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named network namespaces live, so that `ip netns` shows them.
const netnsDir = "/run/netns"

// Namespaces creates and deletes the containers' network namespaces. Each is
// a bind-mounted namespace at /run/netns/berth-<container> (with a Scope,
// berth-<scope>-<container>), with loopback up. Networks joins them to the
// project's bridges.
type Namespaces struct {
	// Scope keeps one berth's (data dir and containerd namespace)
	// namespaces apart from another's with the same container names; ""
	// for the default one.
	Scope string
}

// NamespacePath is the path of a container's network namespace, in the
// default scope.
func NamespacePath(container string) string {
	return Namespaces{}.path(container)
}

func (n Namespaces) path(container string) string {
	return filepath.Join(netnsDir, n.nsName(container))
}

func (n Namespaces) nsName(container string) string {
	if n.Scope == "" {
		return "berth-" + container
	}
	return "berth-" + n.Scope + "-" + container
}

// CreateNamespace creates the container's network namespace with loopback
// up and returns its path. An existing one (of an earlier, interrupted
// attempt) is replaced.
func (n Namespaces) CreateNamespace(_ context.Context, _, name string) (_ string, retErr error) {
	path := n.path(name)
	if _, err := os.Stat(path); err == nil {
		if err := netns.DeleteNamed(n.nsName(name)); err != nil {
			return "", fmt.Errorf("network namespace %s: remove stale one: %w", path, err)
		}
	}
	// A new namespace is entered by the calling thread; keep this goroutine
	// on it and go back before letting the thread go.
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return "", fmt.Errorf("network namespace: current one: %w", err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(n.nsName(name))
	if err != nil {
		if serr := netns.Set(orig); serr == nil {
			runtime.UnlockOSThread()
		}
		return "", fmt.Errorf("create network namespace %s: %w", path, err)
	}
	defer func() {
		ns.Close()
		if retErr != nil {
			netns.DeleteNamed(n.nsName(name)) //nolint:errcheck // rollback of what we made
		}
	}()
	upErr := loopbackUp()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked and dies with the goroutine: it is in the wrong namespace.
		return "", fmt.Errorf("network namespace %s: return to the host namespace: %w", path, err)
	}
	runtime.UnlockOSThread()
	if upErr != nil {
		return "", fmt.Errorf("network namespace %s: %w", path, upErr)
	}
	return path, nil
}

func loopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set loopback up: %w", err)
	}
	return nil
}

// DeleteNamespace unmounts and removes the container's network namespace.
// A missing one is not an error.
func (n Namespaces) DeleteNamespace(_ context.Context, _, name string) error {
	path := n.path(name)
	err := netns.DeleteNamed(n.nsName(name))
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if errors.Is(err, unix.EINVAL) { // not a mount point: a leftover file
		if rerr := os.Remove(path); rerr == nil || os.IsNotExist(rerr) {
			return nil
		}
	}
	return fmt.Errorf("delete network namespace %s: %w", path, err)
}

// NamespaceExists implements scheduler.Network: the named namespace is
// mounted at its path.
func (n Namespaces) NamespaceExists(_ context.Context, _, name string) (bool, error) {
	var st unix.Statfs_t
	err := unix.Statfs(n.path(name), &st)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("network namespace %s: %w", n.path(name), err)
	}
	return st.Type == unix.NSFS_MAGIC, nil
}
