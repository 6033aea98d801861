package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// The Client reaches the cluster through the dynamic client and one plain
// REST client of the core group, and never through client-go's typed
// clients, its discovery package or its RESTMappers: each of these imports
// k8s.io/client-go/kubernetes/scheme, which registers every API group's
// types at init, and discovery the OpenAPI clients too. Linked, they made
// the berth binary 38 MB larger and every berth process, the long-lived
// project process too, 14 MiB larger (issue 18), for the few kinds berth
// writes and reads.

// coreREST is a REST client of the core API group (/api/v1) on hc, for
// what the dynamic client does not do: pod logs (text, not an object),
// the server's version and discovery. Its serializer is the dynamic
// client's, which decodes the API server's Status errors
// (apierrors.IsNotFound holds on them) without a scheme of typed objects.
func coreREST(cfg *rest.Config, hc *http.Client) (*rest.RESTClient, error) {
	cfg = dynamic.ConfigFor(cfg)
	cfg.APIPath = "/api"
	cfg.GroupVersion = &schema.GroupVersion{Version: "v1"}
	return rest.RESTClientForConfigAndClient(cfg, hc)
}

// serverVersion is the API server's version (GET /version).
func serverVersion(ctx context.Context, core rest.Interface) (*version.Info, error) {
	b, err := core.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var v version.Info
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode the server's version: %w", err)
	}
	return &v, nil
}

// resourceMapper maps a kind to the resource that serves it and says
// whether it is namespaced.
type resourceMapper interface {
	resourceFor(ctx context.Context, gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error)
}

// discoveryMapper is the resourceMapper of a cluster: it asks the cluster
// for the resources of the kind's group version alone (GET /api/v1 or
// /apis/GROUP/VERSION), once per group version, and keeps the answer. A
// project's objects are of four group versions, so Apply asks four times,
// where client-go's deferred mapper read every group of the cluster.
type discoveryMapper struct {
	core rest.Interface
	mu   sync.Mutex // guards served
	// served is, by group version, its resources; nil for a group version
	// the cluster does not serve.
	served map[schema.GroupVersion][]metav1.APIResource
}

func newDiscoveryMapper(core rest.Interface) *discoveryMapper {
	return &discoveryMapper{core: core, served: map[schema.GroupVersion][]metav1.APIResource{}}
}

// resourceFor finds gvk among its group version's resources; a kind or a
// group version the cluster does not serve is a meta.NoKindMatchError.
func (m *discoveryMapper) resourceFor(ctx context.Context, gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error) {
	resources, err := m.resources(ctx, gvk.GroupVersion())
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	for _, r := range resources {
		// Subresources (pods/log, deployments/scale) are named
		// "resource/sub" and may have the kind of another resource.
		if r.Kind == gvk.Kind && !strings.Contains(r.Name, "/") {
			return gvk.GroupVersion().WithResource(r.Name), r.Namespaced, nil
		}
	}
	return schema.GroupVersionResource{}, false, &meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{gvk.Version}}
}

// resources are gv's resources, asked once: nil when the cluster does not
// serve gv.
func (m *discoveryMapper) resources(ctx context.Context, gv schema.GroupVersion) ([]metav1.APIResource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.served[gv]; ok {
		return r, nil
	}
	path := "/apis/" + gv.Group + "/" + gv.Version
	if gv.Group == "" {
		path = "/api/" + gv.Version
	}
	b, err := m.core.Get().AbsPath(path).Do(ctx).Raw()
	switch {
	case apierrors.IsNotFound(err):
		m.served[gv] = nil
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("discover the resources of %s: %w", gv, err)
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("decode the resources of %s: %w", gv, err)
	}
	m.served[gv] = list.APIResources
	return list.APIResources, nil
}
