package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/conversion/queryparams"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// listAll lists the objects of gvr in every namespace that lo selects,
// through the dynamic client, as T, their type in k8s.io/api (corev1.Pod,
// appsv1.Deployment), which reads better than unstructured fields; and
// the list's resourceVersion, to watch from.
func listAll[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, lo metav1.ListOptions) ([]T, string, error) {
	list, err := c.dyn.Resource(gvr).Namespace(metav1.NamespaceAll).List(ctx, lo)
	if err != nil {
		return nil, "", err
	}
	out := make([]T, len(list.Items))
	for i := range list.Items {
		if err := fromUnstructured(&list.Items[i], &out[i]); err != nil {
			return nil, "", err
		}
	}
	return out, list.GetResourceVersion(), nil
}

// fromUnstructured converts u to its k8s.io/api type.
func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), into); err != nil {
		return fmt.Errorf("decode %s %s: %w", u.GetKind(), objectName(u), err)
	}
	return nil
}

// listPods lists the pods that lo selects in every namespace.
func (c *Client) listPods(ctx context.Context, lo metav1.ListOptions) ([]corev1.Pod, string, error) {
	return listAll[corev1.Pod](ctx, c, gvrPod, lo)
}

// eventPod is the pod of a watch event of the dynamic client, nil when
// the event's object is not a pod (a watch Error's Status).
func eventPod(ev watch.Event) *corev1.Pod {
	u, ok := ev.Object.(*unstructured.Unstructured)
	if !ok || u.GetKind() != "Pod" {
		return nil
	}
	p := &corev1.Pod{}
	if fromUnstructured(u, p) != nil {
		return nil
	}
	return p
}

// podLogs is the request for a container's log (GET
// /api/v1/namespaces/NS/pods/NAME/log), o as its query, which the caller
// streams (Stream) or reads whole (DoRaw). The dynamic client cannot: a
// log is text, not an object.
func (c *Client) podLogs(ns, pod string, o *corev1.PodLogOptions) (*rest.Request, error) {
	q, err := queryparams.Convert(o)
	if err != nil {
		return nil, fmt.Errorf("log options: %w", err)
	}
	r := c.core.Get().Namespace(ns).Resource("pods").Name(pod).SubResource("log")
	for k, vs := range q {
		for _, v := range vs {
			r.Param(k, v)
		}
	}
	return r, nil
}
