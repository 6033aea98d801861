package kube

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestApply(t *testing.T) {
	c, dyn, _, _ := testClient(t)
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
	c, dyn, _, _ := testClient(t)
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

// refuse makes the fake API server refuse applies of the named object of
// resource gvr; only real ones (not dry runs) when realOnly, as a quota or
// a race the dry run cannot see would.
func refuse(dyn *dynamicfake.FakeDynamicClient, gvr schema.GroupVersionResource, name string, realOnly bool) {
	dyn.PrependReactor("patch", gvr.Resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchActionImpl)
		if pa.GetName() != name || (realOnly && slices.Contains(pa.PatchOptions.DryRun, metav1.DryRunAll)) {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(gvr.GroupResource(), name, errors.New("exceeded quota: compute"))
	})
}

// TestApplyRefusedWritesNothing: an object the API server refuses fails
// the dry run, before anything but the namespace (which the dry run
// needs) is written, and the namespace this Apply created goes again.
func TestApplyRefusedWritesNothing(t *testing.T) {
	c, dyn, _, _ := testClient(t)
	refuse(dyn, gvrDeployment, "api", false)
	var rec recorder
	err := c.Apply(context.Background(), "demo", standInManifests(t, "demo", "demo"), rec.add)
	if err == nil || !containsAll(err.Error(), "apply Deployment demo/api", "refused by the API server", "exceeded quota", "nothing this up created was kept") {
		t.Fatalf("Apply with a refused Deployment: %v, want an error naming it and the reason", err)
	}
	want := []string{
		"Namespace demo Created",
		`Deployment demo/api Error: refused by the API server: deployments.apps "api" is forbidden: exceeded quota: compute`,
		"Namespace demo Removed",
	}
	if got := rec.get(); !slices.Equal(got, want) {
		t.Errorf("Apply steps = %q, want %q", got, want)
	}
	for _, a := range dyn.Actions() {
		if pa, ok := a.(k8stesting.PatchActionImpl); ok && !slices.Contains(pa.PatchOptions.DryRun, metav1.DryRunAll) && pa.GetResource() != gvrNamespace {
			t.Errorf("a real apply of %s %s before the dry run of every object passed", pa.GetResource().Resource, pa.GetName())
		}
	}
	if left := trackedNames(t, dyn); len(left) > 0 {
		t.Errorf("left in the cluster: %q, want nothing", left)
	}
}

// TestApplyFailureUndoesCreated: when a real apply fails after the dry
// run passed, what this Apply created is deleted again and what was there
// before stays.
func TestApplyFailureUndoesCreated(t *testing.T) {
	before := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}},
		&corev1.ConfigMap{ObjectMeta: objMeta("demo", "api-env", "demo", "api"), Data: map[string]string{"A": "0"}},
	}
	c, dyn, _, _ := testClient(t, before...)
	refuse(dyn, gvrDeployment, "api", true)
	var rec recorder
	err := c.Apply(context.Background(), "demo", standInManifests(t, "demo", "demo"), rec.add)
	if err == nil || !containsAll(err.Error(), "apply Deployment demo/api", "exceeded quota", "nothing this up created was kept") {
		t.Fatalf("Apply with a failing Deployment: %v, want an error naming it", err)
	}
	if got, want := trackedNames(t, dyn), []string{"configmaps demo/api-env", "namespaces demo"}; !slices.Equal(got, want) {
		t.Errorf("left in the cluster: %q, want what was there before: %q", got, want)
	}
	steps := rec.get()
	for _, s := range []string{"StatefulSet demo/db Removed", "Service demo/db Removed"} {
		if !slices.Contains(steps, s) {
			t.Errorf("Apply steps %q lack %q", steps, s)
		}
	}
}

// trackedNames are the fake cluster's objects of the kinds Apply writes,
// as "resource ns/name".
func trackedNames(t *testing.T, dyn *dynamicfake.FakeDynamicClient) []string {
	t.Helper()
	var out []string
	for _, gvr := range []schema.GroupVersionResource{gvrConfigMap, gvrDeployment, gvrNamespace, gvrService, gvrStatefulSet} {
		list, err := dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Items {
			out = append(out, gvr.Resource+" "+objectName(&u))
		}
	}
	slices.Sort(out)
	return out
}

func TestApplyUnknownKind(t *testing.T) {
	c, _, _, _ := testClient(t)
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
