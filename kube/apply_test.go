package kube

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestApply(t *testing.T) {
	c, dyn, _, _ := testClient(t, nil, nil)
	objs := standInManifests(t, "demo", "demo")
	var rec recorder
	if err := c.Apply(context.Background(), "demo", objs, rec.add); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []string{
		"Namespace demo Created", "ConfigMap demo/api-env Created", "Service demo/db Created",
		"StatefulSet demo/db Created", "Deployment demo/api Created",
	}
	if got := rec.get(); !slices.Equal(got, want) {
		t.Errorf("Apply steps = %q, want %q", got, want)
	}
	// Every write is a server-side apply by berth, forcing its fields.
	for _, a := range dyn.Actions() {
		if a.GetVerb() != "patch" {
			continue
		}
		pa := a.(k8stesting.PatchActionImpl)
		if pa.GetPatchType() != types.ApplyPatchType {
			t.Errorf("%s %s: patch type %s, want apply", pa.GetResource().Resource, pa.GetName(), pa.GetPatchType())
		}
		if o := pa.PatchOptions; o.FieldManager != FieldManager || o.Force == nil || !*o.Force {
			t.Errorf("%s %s: patch options %+v, want field manager berth, force", pa.GetResource().Resource, pa.GetName(), o)
		}
	}
	got, err := dyn.Resource(gvrDeployment).Namespace("demo").Get(context.Background(), "api", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the Deployment was not applied: %v", err)
	}
	if got.GetLabels()[LabelManagedBy] != ManagedBy {
		t.Errorf("applied Deployment labels = %v", got.GetLabels())
	}
	// The caller's objects are not changed (Apply fills in namespaces on
	// copies).
	if objs[4].GetKind() != "Namespace" {
		t.Errorf("Apply reordered its argument")
	}
}

// TestApplyUnchanged: a re-apply of the same objects is reported
// Unchanged when the API server keeps the resourceVersion, as it does for
// a server-side apply that changes nothing (testClient's reactor plays
// that part of the API server; the e2e checks the real one).
func TestApplyUnchanged(t *testing.T) {
	c, dyn, _, _ := testClient(t, nil, nil)
	objs := standInManifests(t, "demo", "demo")
	ctx := context.Background()
	if err := c.Apply(ctx, "demo", objs, nil); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	before := resourceVersions(t, dyn)
	var rec recorder
	if err := c.Apply(ctx, "demo", objs, rec.add); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	for _, s := range rec.get() {
		if !strings.HasSuffix(s, " Unchanged") {
			t.Errorf("second Apply: %q, want Unchanged", s)
		}
	}
	if after := resourceVersions(t, dyn); !maps.Equal(before, after) {
		t.Errorf("resourceVersions after a second Apply = %v, want %v", after, before)
	}
	// A changed object is Configured.
	objs[0].SetLabels(map[string]string{"x": "y"})
	rec = recorder{}
	if err := c.Apply(ctx, "demo", objs[:1], rec.add); err != nil {
		t.Fatalf("third Apply: %v", err)
	}
	if got := rec.get(); !slices.Equal(got, []string{"ConfigMap demo/api-env Configured"}) {
		t.Errorf("Apply of a changed ConfigMap = %q", got)
	}
}

func TestApplyUnknownKind(t *testing.T) {
	c, _, _, _ := testClient(t, nil, nil)
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("example.com/v1")
	u.SetKind("Widget")
	u.SetName("w")
	err := c.Apply(context.Background(), "demo", []*unstructured.Unstructured{u}, nil)
	if err == nil || !containsAll(err.Error(), "apply Widget w", "does not serve") {
		t.Errorf("Apply of an unknown kind: %v, want an error naming it", err)
	}
}

// resourceVersions are the resourceVersions of the Deployments,
// StatefulSets and ConfigMaps in namespace demo.
func resourceVersions(t *testing.T, dyn *dynamicfake.FakeDynamicClient) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvr := range []schema.GroupVersionResource{gvrDeployment, gvrStatefulSet, gvrConfigMap} {
		list, err := dyn.Resource(gvr).Namespace("demo").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Items {
			out[gvr.Resource+"/"+u.GetName()] = u.GetResourceVersion()
		}
	}
	return out
}
