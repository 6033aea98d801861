package kube

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestDown(t *testing.T) {
	claim := func(project string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: objMeta("demo", "data-db-0", project, "db")}
	}
	ns := func(managers ...string) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: objMeta("", "demo", "demo", "")}
		for _, m := range managers {
			n.ManagedFields = append(n.ManagedFields, metav1.ManagedFieldsEntry{Manager: m})
		}
		return n
	}
	// Objects every namespace has, and another project's.
	others := []runtime.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "kube-root-ca.crt"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "default"}},
		&corev1.ConfigMap{ObjectMeta: objMeta("other", "cfg", "other", "web")},
	}
	for _, tc := range []struct {
		name      string
		volumes   bool
		ns        *corev1.Namespace
		extra     []runtime.Object
		wantNS    bool // the namespace is left
		wantClaim bool
		wantKept  string
	}{
		{name: "keeps the data", ns: ns(FieldManager), wantNS: true, wantClaim: true,
			wantKept: "Namespace demo Kept: it still holds 1 persistentvolumeclaims"},
		{name: "-v removes the data and the namespace", volumes: true, ns: ns(FieldManager)},
		{name: "a namespace berth did not make stays", volumes: true, ns: ns("kubectl-create", FieldManager), wantNS: true,
			wantKept: "Namespace demo Kept: berth did not create it"},
		{name: "a namespace with a user's objects stays", volumes: true, ns: ns(FieldManager), wantNS: true,
			extra:    []runtime.Object{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mine"}}},
			wantKept: "Namespace demo Kept: it still holds 1 configmaps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := append(slices.Clone(others), tc.ns, claim("demo"))
			objs = append(objs, tc.extra...)
			for _, u := range standInManifests(t, "demo", "demo") {
				if u.GetKind() != "Namespace" {
					objs = append(objs, u)
				}
			}
			objs = append(objs, &corev1.Pod{ObjectMeta: objMeta("demo", "api-5d8f-x1", "demo", "api")})
			c, dyn, _, _ := testClient(t, objs...)
			var rec recorder
			ctx := context.Background()
			if err := c.Down(ctx, "demo", DownOptions{Volumes: tc.volumes}, rec.add); err != nil {
				t.Fatalf("Down: %v", err)
			}
			left := func(gvr schemaGVR, ns, name string) bool {
				_, err := dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
				return err == nil
			}
			for _, o := range []struct {
				gvr      schemaGVR
				ns, name string
				want     bool
			}{
				{gvrDeployment, "demo", "api", false},
				{gvrStatefulSet, "demo", "db", false},
				{gvrService, "demo", "db", false},
				{gvrConfigMap, "demo", "api-env", false},
				{gvrPod, "demo", "api-5d8f-x1", false},
				{gvrClaim, "demo", "data-db-0", tc.wantClaim},
				{gvrNamespace, "", "demo", tc.wantNS},
				{gvrConfigMap, "other", "cfg", true},
			} {
				if got := left(o.gvr, o.ns, o.name); got != o.want {
					t.Errorf("after Down, %s %s/%s left = %v, want %v", o.gvr.Resource, o.ns, o.name, got, o.want)
				}
			}
			steps := rec.get()
			if !slices.Contains(steps, "Deployment demo/api Removed") {
				t.Errorf("Down steps = %q, want Deployment demo/api Removed", steps)
			}
			if tc.wantKept != "" && !slices.Contains(steps, tc.wantKept) {
				t.Errorf("Down steps = %q, want %q", steps, tc.wantKept)
			}
			if !tc.wantNS && !slices.Contains(steps, "Namespace demo Removed") {
				t.Errorf("Down steps = %q, want Namespace demo Removed", steps)
			}
		})
	}
}

// TestDownWaits: down returns only once the pods are gone; it looks
// again on each tick.
func TestDownWaits(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: objMeta("demo", "api-1", "demo", "api")}
	pod.Finalizers = []string{"example.com/hold"}
	c, dyn, _, tk := testClient(t, pod)
	// The fake deletes at once; a finalizer keeps the pod: play the API
	// server marking it instead.
	dyn.PrependReactor("delete", "pods", func(a k8sAction) (bool, runtime.Object, error) { return true, nil, nil })
	done := make(chan error, 1)
	go func() { done <- c.Down(context.Background(), "demo", DownOptions{}, nil) }()
	<-tk.started
	select {
	case tk.c <- now0: // the pod is still there: Down looks again
	case err := <-done:
		t.Fatalf("Down returned while the pod was left: %v", err)
	}
	if err := dyn.Tracker().Delete(gvrPod, "demo", "api-1"); err != nil {
		t.Fatal(err)
	}
	// Down sees the pod gone on its next look (which may be the one
	// under way).
	for {
		select {
		case tk.c <- now0:
			continue
		case err := <-done:
			if err != nil {
				t.Fatalf("Down: %v", err)
			}
		}
		return
	}
}

// TestDownServices: down SERVICE... deletes only those services' objects
// (with -v their claims too), and keeps the Namespace, the other
// services' objects and the project's shared ones.
func TestDownServices(t *testing.T) {
	type obj struct {
		gvr      schemaGVR
		ns, name string
	}
	api := []obj{{gvrDeployment, "demo", "api"}, {gvrConfigMap, "demo", "api-env"}, {gvrPod, "demo", "api-5d8f-x1"}}
	db := []obj{{gvrStatefulSet, "demo", "db"}, {gvrService, "demo", "db"}, {gvrPod, "demo", "db-0"}}
	dbClaim := obj{gvrClaim, "demo", "data-db-0"}
	shared := []obj{{gvrNamespace, "", "demo"}, {gvrSecret, "demo", "secret-token"}, {gvrConfigMap, "other", "cfg"}}
	for _, tc := range []struct {
		name     string
		services []string
		volumes  bool
		gone     []obj
	}{
		{"api", []string{"api"}, false, api},
		{"db keeps its data", []string{"db"}, false, db},
		{"db -v", []string{"db"}, true, append(slices.Clone(db), dbClaim)},
		{"both -v", []string{"db", "api"}, true, append(append(slices.Clone(db), dbClaim), api...)},
		{"a service with nothing", []string{"nope"}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{
				&corev1.Namespace{ObjectMeta: objMeta("", "demo", "demo", "")},
				&corev1.Secret{ObjectMeta: objMeta("demo", "secret-token", "demo", "")},
				&corev1.ConfigMap{ObjectMeta: objMeta("other", "cfg", "other", "api")}, // another project's api
				&corev1.PersistentVolumeClaim{ObjectMeta: objMeta("demo", "data-db-0", "demo", "db")},
				&corev1.Pod{ObjectMeta: objMeta("demo", "api-5d8f-x1", "demo", "api")},
				&corev1.Pod{ObjectMeta: objMeta("demo", "db-0", "demo", "db")},
			}
			for _, u := range standInManifests(t, "demo", "demo") {
				if u.GetKind() != "Namespace" {
					objs = append(objs, u)
				}
			}
			c, dyn, _, _ := testClient(t, objs...)
			var rec recorder
			ctx := context.Background()
			if err := c.Down(ctx, "demo", DownOptions{Volumes: tc.volumes, Services: tc.services}, rec.add); err != nil {
				t.Fatalf("Down: %v", err)
			}
			for _, o := range slices.Concat(api, db, []obj{dbClaim}, shared) {
				_, err := dyn.Resource(o.gvr).Namespace(o.ns).Get(ctx, o.name, metav1.GetOptions{})
				if left, want := err == nil, !slices.Contains(tc.gone, o); left != want {
					t.Errorf("after Down(%q, -v %v), %s %s/%s left = %v, want %v", tc.services, tc.volumes, o.gvr.Resource, o.ns, o.name, left, want)
				}
			}
			for _, s := range rec.get() {
				if strings.HasPrefix(s, "Namespace") {
					t.Errorf("Down(%q) step %q: the namespace is not down's to judge with services", tc.services, s)
				}
			}
		})
	}
}
