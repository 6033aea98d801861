package netbridge

import "testing"

// TestScope: the default berth keeps the plain host-side names; another
// data dir or containerd namespace gets names of its own.
func TestScope(t *testing.T) {
	def := Scope("/var/lib/berth/", "berth", "/var/lib/berth", "berth")
	otherDir := Scope("/tmp/b2", "berth", "/var/lib/berth", "berth")
	otherNS := Scope("/var/lib/berth", "team2", "/var/lib/berth", "berth")
	if def != "" || otherDir == "" || otherNS == "" || otherDir == otherNS {
		t.Fatalf("Scope: default %q, other dir %q, other namespace %q: want \"\" and two different ones", def, otherDir, otherNS)
	}
	plain, scoped := &Bridges{}, &Bridges{Scope: otherDir}
	if BridgeName(plain.scoped("demo_default")) != BridgeName("demo_default") {
		t.Errorf("the default scope changed the bridge name")
	}
	if BridgeName(plain.scoped("demo_default")) == BridgeName(scoped.scoped("demo_default")) {
		t.Errorf("two scopes share bridge %s", BridgeName("demo_default"))
	}
	h1, _ := vethNames(plain.scoped("demo_default"), "demo-web-1")
	h2, _ := vethNames(scoped.scoped("demo_default"), "demo-web-1")
	if h1 == h2 {
		t.Errorf("two scopes share veth %s", h1)
	}
	if p := (Namespaces{}).path("demo-web-1"); p != NamespacePath("demo-web-1") || p != "/run/netns/berth-demo-web-1" {
		t.Errorf("default namespace path = %s", p)
	}
	if p := (Namespaces{Scope: otherDir}).path("demo-web-1"); p == NamespacePath("demo-web-1") {
		t.Errorf("two scopes share namespace %s", p)
	}
}
