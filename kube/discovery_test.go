package kube

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

func TestDiscoveryMapper(t *testing.T) {
	api := &fakeAPI{}
	m := newDiscoveryMapper(api.rest(t))
	for _, tc := range []struct {
		gvk        schema.GroupVersionKind
		want       schema.GroupVersionResource
		namespaced bool
		unserved   bool
	}{
		{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, want: gvrDeployment, namespaced: true},
		{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, want: gvrStatefulSet, namespaced: true},
		{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, want: gvrNamespace},
		// pods/log has the kind Pod too: the resource is pods.
		{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, want: gvrPod, namespaced: true},
		{gvk: schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, want: gvrRoleBinding, namespaced: true},
		{gvk: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, want: gvrJob, namespaced: true},
		// deployments/scale's kind is not served as a resource of apps/v1.
		{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Scale"}, unserved: true},
		{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1beta9", Kind: "Deployment"}, unserved: true},
		{gvk: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, unserved: true},
	} {
		gvr, namespaced, err := m.resourceFor(context.Background(), tc.gvk)
		if tc.unserved {
			if !meta.IsNoMatchError(err) {
				t.Errorf("resourceFor(%v) = %v, %v, %v, want a no-match error", tc.gvk, gvr, namespaced, err)
			}
			continue
		}
		if err != nil || gvr != tc.want || namespaced != tc.namespaced {
			t.Errorf("resourceFor(%v) = %v, %v, %v, want %v, %v", tc.gvk, gvr, namespaced, err, tc.want, tc.namespaced)
		}
	}
	// Each group version was asked once, whatever the kinds looked up.
	want := []string{"GET /apis/apps/v1", "GET /api/v1", "GET /apis/rbac.authorization.k8s.io/v1", "GET /apis/batch/v1",
		"GET /apis/apps/v1beta9", "GET /apis/example.com/v1"}
	if got := api.served("/"); !slices.Equal(got, want) {
		t.Errorf("discovery requests = %q, want %q", got, want)
	}
}

// TestDiscoveryMapperError: a discovery that fails (not a 404) is an error
// naming the group version, and is asked again next time.
func TestDiscoveryMapperError(t *testing.T) {
	api := &fakeAPI{}
	failing := true
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/apps/v1", func(w http.ResponseWriter, r *http.Request) {
		if failing {
			http.Error(w, "etcd is down", http.StatusServiceUnavailable)
			return
		}
		api.ServeHTTP(w, r)
	})
	m := newDiscoveryMapper(restOn(t, mux))
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	if _, _, err := m.resourceFor(context.Background(), gvk); err == nil || meta.IsNoMatchError(err) || !strings.Contains(err.Error(), "discover the resources of apps/v1") {
		t.Errorf("resourceFor with a failing discovery = %v, want an error naming apps/v1", err)
	}
	failing = false
	if gvr, _, err := m.resourceFor(context.Background(), gvk); err != nil || gvr != gvrDeployment {
		t.Errorf("resourceFor once discovery answers = %v, %v, want %v", gvr, err, gvrDeployment)
	}
}

// restOn is a REST client of the core group (as Dial makes) on a server
// that h serves in process.
func restOn(t *testing.T, h http.Handler) *rest.RESTClient {
	t.Helper()
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		res.Request = r
		return res, nil
	})
	core, err := coreREST(&rest.Config{Host: "https://kube.test"}, &http.Client{Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	return core
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDialServes: Dial's clients reach the cluster of the kubeconfig, one
// server for the version, discovery and logs.
func TestDialServes(t *testing.T) {
	api := &fakeAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := writeKubeconfig(t, t.TempDir(), `{server: "`+srv.URL+`"}`)
	ctx := context.Background()
	c, err := Dial(ctx, Kubeconfig{Path: cfg})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if c.Server != srv.URL {
		t.Errorf("Dial's Server = %q, want %q", c.Server, srv.URL)
	}
	if gvr, namespaced, err := c.mapper.resourceFor(ctx, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}); err != nil || gvr != gvrStatefulSet || !namespaced {
		t.Errorf("Dial's mapper: StatefulSet = %v, %v, %v", gvr, namespaced, err)
	}
	if got := c.lastLines(ctx, podOf("api", "api-1", waiting("api", "CrashLoopBackOff", "")), "api"); got != ", last lines: panic: db unreachable" {
		t.Errorf("Dial's lastLines = %q", got)
	}
	want := []string{"GET /version", "GET /apis/apps/v1", "GET /api/v1/namespaces/demo/pods/api-1/log?container=api&previous=true&tailLines=5"}
	if got := api.served("/"); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	// The API server's Status errors are decoded: a missing pod's logs
	// are NotFound.
	api.mu.Lock()
	api.logStatus = &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound, Message: `pods "api-1" not found`}
	api.mu.Unlock()
	req, err := c.podLogs("demo", "api-1", &corev1.PodLogOptions{Container: "api"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = req.Stream(ctx)
	var status interface{ Status() metav1.Status }
	if !errors.As(err, &status) || status.Status().Reason != metav1.StatusReasonNotFound || !strings.Contains(err.Error(), `pods "api-1" not found`) {
		t.Errorf("logs of a missing pod = %v, want the server's NotFound", err)
	}
}
