package kube

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBerthDoesNotLinkHeavyClientGo: the berth binary links none of
// client-go's packages that register or describe every API group (see
// coreREST): importing one of them again, even indirectly (a typed
// client, discovery, a RESTMapper), brings back 38 MB of binary and
// 14 MiB of memory in every berth process.
func TestBerthDoesNotLinkHeavyClientGo(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list berth's dependencies")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/berth/berth/cmd/berth").Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/berth: %v", err)
	}
	forbidden := []string{
		"k8s.io/client-go/kubernetes",
		"k8s.io/client-go/discovery",
		"k8s.io/client-go/restmapper",
		"k8s.io/client-go/openapi",
		"k8s.io/client-go/applyconfigurations",
		"k8s.io/kube-openapi/pkg/validation",
		"github.com/google/gnostic-models",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("cmd/berth links %s (go mod why -m, or go build -ldflags=-dumpdep, says who imports it)", pkg)
			}
		}
	}
}
