package kube

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta/testrestmapper"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/berth/berth/compose"
)

// fakeTicker is a ticker the test drives: each tick is one more look at
// the cluster.
type fakeTicker struct {
	c       chan time.Time
	started chan struct{}
	once    sync.Once
}

func newFakeTicker() *fakeTicker {
	return &fakeTicker{c: make(chan time.Time), started: make(chan struct{})}
}

func (f *fakeTicker) new(time.Duration) (<-chan time.Time, func()) {
	f.once.Do(func() { close(f.started) })
	return f.c, func() {}
}

// testClient is a Client on fake clients: dyn holds dynObjs (apply, down),
// typed holds typedObjs (ps, logs, waits).
func testClient(t *testing.T, dynObjs, typedObjs []runtime.Object) (*Client, *dynamicfake.FakeDynamicClient, *fake.Clientset, *fakeTicker) {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, dynObjs...)
	// The fake tracker's apply is a strategic merge that fails on
	// unstructured objects; this plays the API server's server-side apply
	// of a whole object: create it, or replace it with a new
	// resourceVersion, or keep it (and its resourceVersion) when the
	// applied object is what is there.
	dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchActionImpl)
		if pa.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(pa.GetPatch()); err != nil {
			return true, nil, err
		}
		if slices.Contains(pa.PatchOptions.DryRun, metav1.DryRunAll) {
			return true, u, nil // what would be applied; nothing is stored
		}
		gvr, ns := pa.GetResource(), pa.GetNamespace()
		cur, err := dyn.Tracker().Get(gvr, ns, pa.GetName())
		switch {
		case apierrors.IsNotFound(err):
			u.SetResourceVersion("1")
			err = dyn.Tracker().Create(gvr, u, ns)
		case err != nil:
			return true, nil, err
		default:
			old := cur.(*unstructured.Unstructured).DeepCopy()
			rv, _ := strconv.Atoi(old.GetResourceVersion())
			old.SetResourceVersion("")
			if equality.Semantic.DeepEqual(old.Object, u.Object) {
				return true, cur, nil
			}
			u.SetResourceVersion(strconv.Itoa(rv + 1))
			err = dyn.Tracker().Update(gvr, u, ns)
		}
		if err != nil {
			return true, nil, err
		}
		got, err := dyn.Tracker().Get(gvr, ns, pa.GetName())
		return true, got, err
	})
	typed := fake.NewSimpleClientset(typedObjs...)
	c := newClient(dyn, typed, testrestmapper.TestOnlyStaticRESTMapper(scheme.Scheme))
	tk := newFakeTicker()
	c.ticker = tk.new
	return c, dyn, typed, tk
}

// projectLabels are the labels Convert puts on the project's objects (and
// the service's, when service is not "").
func projectLabels(project, service string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, LabelPartOf: project, compose.LabelProject: project}
	if service != "" {
		l[compose.LabelService] = service
	}
	return l
}

func objMeta(ns, name, project, service string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: projectLabels(project, service)}
}

// standInManifests stands in for kconvert's Convert of a two-service
// project (api, db with a volume) in namespace ns.
func standInManifests(t *testing.T, project, ns string) []*unstructured.Unstructured {
	t.Helper()
	one := int32(1)
	tmpl := func(svc string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: projectLabels(project, svc)},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: svc, Image: svc + ":1"}}},
		}
	}
	sel := func(svc string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{compose.LabelProject: project, compose.LabelService: svc}}
	}
	objs := []runtime.Object{
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: objMeta(ns, "api-env", project, "api"), Data: map[string]string{"A": "1"}},
		&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: objMeta(ns, "db", project, "db"),
			Spec: corev1.ServiceSpec{ClusterIP: "None", Selector: sel("db").MatchLabels}},
		&appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"}, ObjectMeta: objMeta(ns, "db", project, "db"),
			Spec: appsv1.StatefulSetSpec{Replicas: &one, Selector: sel("db"), ServiceName: "db", Template: tmpl("db")}},
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: objMeta(ns, "api", project, "api"),
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: sel("api"), Template: tmpl("api")}},
		// Last, as a caller may give it: Apply puts it first.
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: objMeta("", ns, project, "")},
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// recorder collects progress steps as "Kind Name Text" lines.
type recorder struct {
	mu    sync.Mutex
	steps []string
}

func (r *recorder) add(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("%s %s %s", p.Kind, p.Name, p.Text)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	r.steps = append(r.steps, s)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.steps...)
}

// reactLogs makes the fake's pod logs two lines naming the container
// (the fake's log action carries the options, not the pod's name), the
// first with the kubelet's timestamp.
func reactLogs(typed *fake.Clientset) {
	typed.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		o := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		text := fmt.Sprintf("2026-12-06T10:00:00Z hello from %s\nno time %s\n", o.Container, o.Container)
		if o.Previous {
			text = "panic: db unreachable\n"
		}
		return true, &runtime.Unknown{Raw: []byte(text)}, nil
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

type (
	schemaGVR = schema.GroupVersionResource
	k8sAction = k8stesting.Action
)

// now0 is the tests' fixed now.
var now0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
