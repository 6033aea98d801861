package kube

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// ApplyResult is what Apply did to one object.
type ApplyResult string

const (
	Created    ApplyResult = "Created"
	Configured ApplyResult = "Configured"
	// Unchanged: the object was already as applied; the API server kept
	// its resourceVersion.
	Unchanged ApplyResult = "Unchanged"
)

// Progress is one step of up, down or a wait, for the progress display:
// "Deployment demo/api  Created".
type Progress struct {
	// Kind and Name name the object ("Deployment", "demo/api"), or Kind
	// "Service" and the compose service's name for waits.
	Kind, Name string
	// Text is the step: "Created", "Waiting", "Healthy", "Removed".
	Text string
	// Done is set when the step is finished, Failed when it failed;
	// neither while under way.
	Done, Failed bool
	// Detail says more: why a pod is not ready.
	Detail string
}

// ProgressFunc receives progress steps; nil drops them.
type ProgressFunc func(Progress)

func (f ProgressFunc) emit(p Progress) {
	if f != nil {
		f(p)
	}
}

// Apply applies objs with server-side apply (field manager berth, taking
// over conflicting fields: berth's manifests are the desired state),
// Namespaces first, then in the given order. An object already as given
// is left unchanged. Objects of a namespaced kind without a namespace go
// to namespace ns.
func (c *Client) Apply(ctx context.Context, ns string, objs []*unstructured.Unstructured, progress ProgressFunc) error {
	ordered := slices.Clone(objs)
	slices.SortStableFunc(ordered, func(a, b *unstructured.Unstructured) int {
		return boolRank(a.GetKind() != "Namespace") - boolRank(b.GetKind() != "Namespace")
	})
	for _, o := range ordered {
		res, err := c.applyOne(ctx, ns, o)
		name := objectName(o)
		if err != nil {
			progress.emit(Progress{Kind: o.GetKind(), Name: name, Text: "Error", Failed: true, Detail: err.Error()})
			return fmt.Errorf("apply %s %s: %w", o.GetKind(), name, err)
		}
		progress.emit(Progress{Kind: o.GetKind(), Name: name, Text: string(res), Done: true})
	}
	return nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// objectName is ns/name, or name for a cluster-wide object.
func objectName(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

func (c *Client) applyOne(ctx context.Context, ns string, o *unstructured.Unstructured) (ApplyResult, error) {
	ri, namespaced, err := c.resourceFor(o)
	if err != nil {
		return "", err
	}
	o = o.DeepCopy()
	if namespaced && o.GetNamespace() == "" {
		o.SetNamespace(ns)
	}
	if namespaced {
		ri = ri.(dynamic.NamespaceableResourceInterface).Namespace(o.GetNamespace())
	}
	exists, before := false, ""
	switch cur, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{}); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return "", err
	default:
		exists, before = true, cur.GetResourceVersion()
	}
	after, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return "", err
	}
	switch {
	case !exists:
		return Created, nil
	case before != "" && after.GetResourceVersion() == before:
		return Unchanged, nil
	}
	return Configured, nil
}

// resourceFor maps o's kind to its resource through the cluster's
// discovery, which knows whether it is namespaced.
func (c *Client) resourceFor(o *unstructured.Unstructured) (dynamic.ResourceInterface, bool, error) {
	gvk := o.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false, fmt.Errorf("the cluster does not serve %s: %w", gvk, err)
	}
	namespaced := m.Scope.Name() == meta.RESTScopeNameNamespace
	return c.dyn.Resource(m.Resource), namespaced, nil
}
