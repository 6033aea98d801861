//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/compose/compattest"
	"github.com/berth/berth/kube"
)

// TestKubeCompatDryRun: every fixture of the compose conformance corpus
// that loads and converts (build: services named by tag, as convert
// --no-push does) is sent to the test cluster's API server as a
// server-side dry-run apply (field manager berth), object by object in the
// converter's order, so the server validates and admits each object
// without storing it. The namespaced objects go to the test's namespace
// (convert --namespace), which exists, so that admission runs on them
// instead of stopping at a missing namespace. Every refusal by the server
// fails the test: the converter made an object the API does not accept.
func TestKubeCompatDryRun(t *testing.T) {
	dir := compattest.Dir(t, repoRoot)
	c := needKubeCluster(t)
	ns := c.kubeNamespace(t)

	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400 // thousands of dry-run requests; the default 5 QPS would take minutes
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var loaded, converted, notConverted, accepted, refused, objects int
	for _, s := range compattest.Samples(t, dir) {
		p, err := compose.Load(ctx, s.LoadOptions(dir))
		if err != nil {
			continue
		}
		loaded++
		m, err := kube.Convert(p, kube.ConvertOptions{Namespace: ns})
		if err != nil {
			notConverted++ // refused by berth itself, with reasons (kube's TestConvertCompatCorpus checks them)
			continue
		}
		converted++
		ok := true
		for _, o := range m.Objects {
			objects++
			gvk := o.GroupVersionKind()
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Errorf("%s: %s %s: the cluster does not serve %s: %v", s.ID, gvk.Kind, o.GetName(), gvk, err)
				ok = false
				continue
			}
			var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
			if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
				if o.GetNamespace() != ns {
					t.Errorf("%s: %s %s is in namespace %q, want %q (convert --namespace)", s.ID, gvk.Kind, o.GetName(), o.GetNamespace(), ns)
				}
				ri = dyn.Resource(mapping.Resource).Namespace(ns)
			}
			if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Errorf("%s: the API server refused %s %s: %v", s.ID, gvk.Kind, o.GetName(), err)
				ok = false
			}
		}
		if ok {
			accepted++
		} else {
			refused++
		}
	}
	t.Logf("compat corpus on the cluster: %d fixtures loaded, %d converted (%d objects), %d refused by the converter; server-side dry run: %d fixtures accepted, %d refused",
		loaded, converted, objects, notConverted, accepted, refused)
	if converted == 0 {
		t.Fatal("no fixture of the corpus converted")
	}
	// The same call refuses what the API does not accept: the dry run
	// validates, it does not wave everything through.
	bad := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "Not_A_Name", "namespace": ns}, "data": map[string]any{"k": "v"}}}
	if _, err := dyn.Resource(corev1.SchemeGroupVersion.WithResource("configmaps")).Namespace(ns).Apply(ctx, bad.GetName(), bad,
		metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}); !apierrors.IsInvalid(err) {
		t.Errorf("dry-run apply of an invalid ConfigMap: %v, want Invalid", err)
	}
	// Nothing of a dry run may be stored.
	if out := c.mustKubectl(t, "-n", ns, "get", "all,configmaps,secrets,pvc", "-l", kube.LabelManagedBy+"="+kube.ManagedBy, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("objects stored by a dry run: %s", out)
	}
}
