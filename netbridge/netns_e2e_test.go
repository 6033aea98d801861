//go:build e2e

package netbridge

import (
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestNamespaceLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	ctx := context.Background()
	n := Namespaces{}
	name := "nstest-" + t.Name()
	path, err := n.CreateNamespace(ctx, "p", name)
	if err != nil {
		t.Fatalf("CreateNamespace: %v", err)
	}
	t.Cleanup(func() { n.DeleteNamespace(ctx, "p", name) })
	if path != NamespacePath(name) {
		t.Errorf("path = %s, want %s", path, NamespacePath(name))
	}

	// Inside it: only lo, and it is up.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	links, err := nh.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].Attrs().Name != "lo" || links[0].Attrs().Flags&1 == 0 {
		t.Errorf("links in the namespace = %v, want lo, up", links)
	}

	// Creating again replaces a stale one; deleting twice is fine.
	if _, err := n.CreateNamespace(ctx, "p", name); err != nil {
		t.Fatalf("CreateNamespace over a stale one: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := n.DeleteNamespace(ctx, "p", name); err != nil {
			t.Fatalf("DeleteNamespace #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s still exists after delete", path)
	}
}

func TestHostRoutes(t *testing.T) {
	routes, err := HostRoutes()
	if err != nil {
		t.Fatalf("HostRoutes: %v", err)
	}
	found := false
	for _, r := range routes {
		if r.String() == "127.0.0.0/8" {
			found = true
		}
	}
	if !found {
		t.Errorf("HostRoutes = %v, want the local table's 127.0.0.0/8 among them", routes)
	}
}
