package kube

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resources down deletes, in this order: the workloads first (their pods
// go with them), then what the pods used. PersistentVolumeClaims come last
// and only with DownOptions.Volumes.
var (
	gvrDeployment  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrStatefulSet = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	gvrDaemonSet   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	gvrJob         = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	gvrPod         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrService     = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrConfigMap   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrSecret      = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrAccount     = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	gvrRole        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
	gvrRoleBinding = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
	gvrClaim       = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	gvrNamespace   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

	downOrder = []schema.GroupVersionResource{
		gvrDeployment, gvrStatefulSet, gvrDaemonSet, gvrJob, gvrPod,
		gvrService, gvrConfigMap, gvrSecret, gvrRoleBinding, gvrRole, gvrAccount,
	}
)

// kindOf names a resource for progress lines.
var kindOf = map[schema.GroupVersionResource]string{
	gvrDeployment: "Deployment", gvrStatefulSet: "StatefulSet", gvrDaemonSet: "DaemonSet", gvrJob: "Job",
	gvrPod: "Pod", gvrService: "Service", gvrConfigMap: "ConfigMap", gvrSecret: "Secret",
	gvrAccount: "ServiceAccount", gvrRole: "Role", gvrRoleBinding: "RoleBinding",
	gvrClaim: "PersistentVolumeClaim", gvrNamespace: "Namespace",
}

// DownOptions say what down removes besides the workloads and what they use.
type DownOptions struct {
	// Volumes also removes the PersistentVolumeClaims (the data): with
	// Services, those of these services only.
	Volumes bool
	// Services, when set, limits down to the objects labelled for these
	// compose services: their workloads (and so their pods), their
	// Services, their own ConfigMaps (environment, files), their Jobs.
	// The Namespace, the objects of other services and the project's
	// shared ones (the ConfigMaps and Secrets of configs and secrets, the
	// Job waiters' account) stay, as docker compose's down SERVICE leaves
	// the project's networks to the containers still on them.
	Services []string
}

// Down deletes everything labelled for project, in every namespace, and
// waits until it is gone (until ctx ends). A Namespace labelled for the
// project goes too when berth made it and nothing else is left in it;
// otherwise it is kept and said why. With o.Services it deletes only those
// services' objects (see DownOptions), and no Namespace.
func (c *Client) Down(ctx context.Context, project string, o DownOptions, progress ProgressFunc) error {
	sel := ProjectSelector(project)
	if o.Services != nil {
		var err error
		if sel, err = servicesSelector(project, o.Services); err != nil {
			return err
		}
	}
	gvrs := downOrder
	if o.Volumes {
		gvrs = append(gvrs[:len(gvrs):len(gvrs)], gvrClaim)
	}
	var deleted []*unstructured.Unstructured
	var gone []schema.GroupVersionResource
	for _, gvr := range gvrs {
		list, err := c.dyn.Resource(gvr).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return fmt.Errorf("list %s of project %s: %w", gvr.Resource, project, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			if u.GetDeletionTimestamp() == nil {
				progress.emit(Progress{Kind: kindOf[gvr], Name: objectName(u), Text: "Removing"})
			}
			background := metav1.DeletePropagationBackground
			err := c.dyn.Resource(gvr).Namespace(u.GetNamespace()).Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete %s %s: %w", kindOf[gvr], objectName(u), err)
			}
			deleted = append(deleted, u)
			gone = append(gone, gvr)
		}
	}
	// The pods the workloads owned go with them, by the garbage collector.
	if err := c.waitGone(ctx, gvrPod, sel, ""); err != nil {
		return err
	}
	for i, u := range deleted {
		if err := c.waitGone(ctx, gone[i], "", u.GetNamespace()+"/"+u.GetName()); err != nil {
			return err
		}
		progress.emit(Progress{Kind: kindOf[gone[i]], Name: objectName(u), Text: "Removed", Done: true})
	}
	if o.Services != nil {
		return nil // the Namespace stays for the other services
	}
	return c.downNamespaces(ctx, sel, progress)
}

// downNamespaces deletes the project's namespaces that berth made and that
// are now empty of what a user makes.
func (c *Client) downNamespaces(ctx context.Context, sel string, progress ProgressFunc) error {
	list, err := c.dyn.Resource(gvrNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	for i := range list.Items {
		ns := &list.Items[i]
		if !madeByBerth(ns) {
			progress.emit(Progress{Kind: "Namespace", Name: ns.GetName(), Text: "Kept", Done: true, Detail: "berth did not create it"})
			continue
		}
		left, err := c.leftIn(ctx, ns.GetName())
		if err != nil {
			return err
		}
		if len(left) > 0 {
			detail := "it still holds " + strings.Join(left, ", ")
			progress.emit(Progress{Kind: "Namespace", Name: ns.GetName(), Text: "Kept", Done: true, Detail: detail})
			continue
		}
		progress.emit(Progress{Kind: "Namespace", Name: ns.GetName(), Text: "Removing"})
		err = c.dyn.Resource(gvrNamespace).Delete(ctx, ns.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", ns.GetName(), err)
		}
		if err := c.waitGone(ctx, gvrNamespace, "", "/"+ns.GetName()); err != nil {
			return err
		}
		progress.emit(Progress{Kind: "Namespace", Name: ns.GetName(), Text: "Removed", Done: true})
	}
	return nil
}

// madeByBerth reports whether berth created the namespace: only berth's
// field manager ever wrote it. A namespace someone else created, which up
// then applied berth's labels to, has another manager's entry.
func madeByBerth(ns *unstructured.Unstructured) bool {
	for _, f := range ns.GetManagedFields() {
		if f.Manager != FieldManager {
			return false
		}
	}
	return true
}

// leftIn names what is left in namespace ns, of any project or none: the
// kinds berth makes, and claims. The ConfigMap every namespace gets
// (kube-root-ca.crt) and service account tokens do not count.
func (c *Client) leftIn(ctx context.Context, ns string) ([]string, error) {
	var left []string
	for _, gvr := range append(downOrder[:len(downOrder):len(downOrder)], gvrClaim) {
		list, err := c.dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s in namespace %s: %w", gvr.Resource, ns, err)
		}
		n := 0
		for _, u := range list.Items {
			if builtIn(gvr, &u) {
				continue
			}
			n++
		}
		if n > 0 {
			left = append(left, fmt.Sprintf("%d %s", n, gvr.Resource))
		}
	}
	return left, nil
}

// builtIn reports whether u is one of the objects Kubernetes puts in every
// namespace.
func builtIn(gvr schema.GroupVersionResource, u *unstructured.Unstructured) bool {
	switch gvr {
	case gvrConfigMap:
		return u.GetName() == "kube-root-ca.crt"
	case gvrAccount:
		return u.GetName() == "default"
	case gvrSecret:
		t, _, _ := unstructured.NestedString(u.Object, "type")
		return t == "kubernetes.io/service-account-token"
	}
	return false
}

// waitGone waits until nothing of gvr matches selector sel (when sel is
// given) or until the object "namespace/name" is gone, checking every
// pollInterval.
func (c *Client) waitGone(ctx context.Context, gvr schema.GroupVersionResource, sel, object string) error {
	err := c.poll(ctx, func() (bool, error) {
		left, err := c.exists(ctx, gvr, sel, object)
		return !left, err
	})
	if err != nil && ctx.Err() != nil && err == ctx.Err() {
		what := object
		if what == "" {
			what = sel
		}
		return fmt.Errorf("wait for %s %s to be gone: %w", gvr.Resource, what, err)
	}
	return err
}

func (c *Client) exists(ctx context.Context, gvr schema.GroupVersionResource, sel, object string) (bool, error) {
	if object == "" {
		list, err := c.dyn.Resource(gvr).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		return len(list.Items) > 0, nil
	}
	ns, name, _ := strings.Cut(object, "/")
	_, err := c.dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get %s %s: %w", gvr.Resource, object, err)
	}
	return true, nil
}
