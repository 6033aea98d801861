package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
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

// testClient is a Client on fakes: the dynamic client's holds objs (typed
// objects are converted), api plays the endpoints berth reaches through
// its REST client (discovery, pod logs).
func testClient(t *testing.T, objs ...runtime.Object) (*Client, *dynamicfake.FakeDynamicClient, *fakeAPI, *fakeTicker) {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, objs...)
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
	api := &fakeAPI{}
	core := api.rest(t)
	c := newClient(dyn, core, newDiscoveryMapper(core))
	tk := newFakeTicker()
	c.ticker = tk.new
	return c, dyn, api, tk
}

// asStored is obj (a k8s.io/api object, its TypeMeta unset) as the
// dynamic client holds it.
func asStored(t *testing.T, obj runtime.Object) (*unstructured.Unstructured, schema.GroupVersionResource) {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	u.SetGroupVersionKind(gvks[0])
	gvr, _ := meta.UnsafeGuessKindToResource(gvks[0])
	return u, gvr
}

// createObj adds obj to the fake cluster, as a controller would.
func createObj(t *testing.T, dyn *dynamicfake.FakeDynamicClient, obj runtime.Object) {
	t.Helper()
	u, gvr := asStored(t, obj)
	if _, err := dyn.Resource(gvr).Namespace(u.GetNamespace()).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// updateObj replaces obj in the fake cluster, as a controller would.
func updateObj(t *testing.T, dyn *dynamicfake.FakeDynamicClient, obj runtime.Object) {
	t.Helper()
	u, gvr := asStored(t, obj)
	if _, err := dyn.Resource(gvr).Namespace(u.GetNamespace()).Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// fakeAPI plays the API server's endpoints that berth reaches through its
// REST client rather than the dynamic one: /version, the discovery of a
// group version (fakeDiscovery) and pod logs: two lines naming the
// container, the first with the kubelet's timestamp, or a crash's last
// line for the previous run. It serves in process (restOn, no socket) or
// on an httptest server.
type fakeAPI struct {
	mu       sync.Mutex // guards following
	requests []string   // "GET /path?query" of each request served
	// logStatus, when set, answers a log request instead, with that
	// Status (its code as the HTTP status).
	logStatus *metav1.Status
	// logText, when set, is every container's log instead of the two
	// lines, "{pod}" replaced by the pod's name.
	logText string
}

// fakeDiscovery is the fake cluster's resources, by group version path.
var fakeDiscovery = map[string][]metav1.APIResource{
	"/api/v1": {
		{Name: "namespaces", Kind: "Namespace"},
		{Name: "configmaps", Namespaced: true, Kind: "ConfigMap"},
		{Name: "secrets", Namespaced: true, Kind: "Secret"},
		{Name: "services", Namespaced: true, Kind: "Service"},
		{Name: "serviceaccounts", Namespaced: true, Kind: "ServiceAccount"},
		{Name: "persistentvolumeclaims", Namespaced: true, Kind: "PersistentVolumeClaim"},
		{Name: "pods/log", Namespaced: true, Kind: "Pod"},
		{Name: "pods", Namespaced: true, Kind: "Pod"},
	},
	"/apis/apps/v1": {
		{Name: "deployments/scale", Namespaced: true, Group: "autoscaling", Version: "v1", Kind: "Scale"},
		{Name: "deployments", Namespaced: true, Kind: "Deployment"},
		{Name: "statefulsets", Namespaced: true, Kind: "StatefulSet"},
		{Name: "daemonsets", Namespaced: true, Kind: "DaemonSet"},
	},
	"/apis/batch/v1": {{Name: "jobs", Namespaced: true, Kind: "Job"}},
	"/apis/rbac.authorization.k8s.io/v1": {
		{Name: "roles", Namespaced: true, Kind: "Role"},
		{Name: "rolebindings", Namespaced: true, Kind: "RoleBinding"},
	},
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	logStatus, logText := f.logStatus, f.logText
	f.mu.Unlock()
	path := r.URL.Path
	writeJSON := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	if path == "/version" {
		writeJSON(http.StatusOK, map[string]string{"major": "1", "minor": "36", "gitVersion": "v1.36.3"})
		return
	}
	if resources, ok := fakeDiscovery[path]; ok {
		gv := strings.TrimPrefix(strings.TrimPrefix(path, "/api/"), "/apis/")
		writeJSON(http.StatusOK, metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv, APIResources: resources})
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/api/v1/namespaces/"), "/")
	if len(parts) != 4 || parts[1] != "pods" || parts[3] != "log" {
		http.NotFound(w, r) // as the API server answers an unknown path
		return
	}
	if logStatus != nil {
		writeJSON(int(logStatus.Code), logStatus)
		return
	}
	q := r.URL.Query()
	text := fmt.Sprintf("2026-12-06T10:00:00Z hello from %s\nno time %s\n", q.Get("container"), q.Get("container"))
	if q.Get("previous") == "true" {
		text = "panic: db unreachable\n"
	}
	if logText != "" {
		text = strings.ReplaceAll(logText, "{pod}", parts[2])
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, text)
}

// rest is a REST client of the core group (as Dial makes) on f.
func (f *fakeAPI) rest(t *testing.T) *rest.RESTClient {
	t.Helper()
	return restOn(t, f)
}

// served are the requests f served whose path starts with prefix.
func (f *fakeAPI) served(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if strings.HasPrefix(strings.TrimPrefix(r, "GET "), prefix) {
			out = append(out, r)
		}
	}
	return out
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
