package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
//
// Apply is all or nothing as far as the API server lets it be: every
// object is first applied as a server-side dry run (after the Namespaces,
// which the dry run of what goes in them needs), so an object the server
// refuses (invalid, a node port taken, a quota) fails up before anything
// else is written; and should a real apply still fail, the objects this
// Apply created are deleted again. Objects that existed before are left
// as the last successful apply made them.
func (c *Client) Apply(ctx context.Context, ns string, objs []*unstructured.Unstructured, progress ProgressFunc) error {
	ordered := slices.Clone(objs)
	slices.SortStableFunc(ordered, func(a, b *unstructured.Unstructured) int {
		return boolRank(a.GetKind() != "Namespace") - boolRank(b.GetKind() != "Namespace")
	})
	var created []*unstructured.Unstructured
	fail := func(o *unstructured.Unstructured, err error) error {
		name := objectName(o)
		progress.emit(Progress{Kind: o.GetKind(), Name: name, Text: "Error", Failed: true, Detail: err.Error()})
		err = fmt.Errorf("apply %s %s: %w", o.GetKind(), name, err)
		if len(created) == 0 {
			return err
		}
		if rerr := c.undo(ctx, created, progress); rerr != nil {
			return fmt.Errorf("%w; removing what this up created failed too: %v", err, rerr)
		}
		return fmt.Errorf("%w (nothing this up created was kept)", err)
	}
	apply := func(o *unstructured.Unstructured) error {
		res, applied, err := c.applyOne(ctx, ns, o, false)
		if err != nil {
			return fail(o, err)
		}
		if res == Created {
			created = append(created, applied)
		}
		progress.emit(Progress{Kind: o.GetKind(), Name: objectName(applied), Text: string(res), Done: true})
		return nil
	}
	rest := ordered
	for len(rest) > 0 && rest[0].GetKind() == "Namespace" {
		if err := apply(rest[0]); err != nil {
			return err
		}
		rest = rest[1:]
	}
	for _, o := range rest {
		if _, _, err := c.applyOne(ctx, ns, o, true); err != nil {
			return fail(o, fmt.Errorf("refused by the API server: %w", err))
		}
	}
	for _, o := range rest {
		if err := apply(o); err != nil {
			return err
		}
	}
	return nil
}

// undo deletes objs, which an Apply created, last first. It does not wait
// for them to go: the API server's garbage collector finishes what a
// deleted workload or namespace owned.
func (c *Client) undo(ctx context.Context, objs []*unstructured.Unstructured, progress ProgressFunc) error {
	var errs []error
	background := metav1.DeletePropagationBackground
	for _, o := range slices.Backward(objs) {
		ri, _, err := c.resourceIn(ctx, o)
		if err == nil {
			err = ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", o.GetKind(), objectName(o), err))
			continue
		}
		progress.emit(Progress{Kind: o.GetKind(), Name: objectName(o), Text: "Removed", Done: true})
	}
	return errors.Join(errs...)
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

// applyOne applies o (a copy, in namespace ns if its kind is namespaced
// and it names none), as a server-side dry run if dryRun, and returns
// what the apply did and the object applied.
func (c *Client) applyOne(ctx context.Context, ns string, o *unstructured.Unstructured, dryRun bool) (ApplyResult, *unstructured.Unstructured, error) {
	o = o.DeepCopy()
	_, namespaced, err := c.resourceFor(ctx, o)
	if err != nil {
		return "", o, err
	}
	if namespaced && o.GetNamespace() == "" {
		o.SetNamespace(ns)
	}
	ri, _, err := c.resourceIn(ctx, o)
	if err != nil {
		return "", o, err
	}
	exists, before := false, ""
	switch cur, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{}); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return "", o, err
	default:
		exists, before = true, cur.GetResourceVersion()
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	after, err := ri.Apply(ctx, o.GetName(), o, opts)
	if err != nil {
		return "", o, err
	}
	switch {
	case !exists:
		return Created, o, nil
	case before != "" && after.GetResourceVersion() == before:
		return Unchanged, o, nil
	}
	return Configured, o, nil
}

// resourceIn is the client of o's resource, in o's namespace where its
// kind is namespaced.
func (c *Client) resourceIn(ctx context.Context, o *unstructured.Unstructured) (dynamic.ResourceInterface, bool, error) {
	ri, namespaced, err := c.resourceFor(ctx, o)
	if err != nil || !namespaced {
		return ri, namespaced, err
	}
	return ri.(dynamic.NamespaceableResourceInterface).Namespace(o.GetNamespace()), true, nil
}

// resourceFor maps o's kind to its resource through the cluster's
// discovery, which knows whether it is namespaced.
func (c *Client) resourceFor(ctx context.Context, o *unstructured.Unstructured) (dynamic.ResourceInterface, bool, error) {
	gvk := o.GroupVersionKind()
	gvr, namespaced, err := c.mapper.resourceFor(ctx, gvk)
	if err != nil {
		return nil, false, fmt.Errorf("the cluster does not serve %s: %w", gvk, err)
	}
	return c.dyn.Resource(gvr), namespaced, nil
}
