package kube

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Exit is a container that exited: berth wait prints its code.
type Exit struct {
	Service, Pod, Container string
	ExitCode                int
}

// WaitExit waits until a pod's container of one of services exits, as
// docker compose wait waits for a container of the services to stop, and
// returns that exit. A container already exited counts: a Job's pod that
// completed, a container that exited and restarted (its last run). A
// service with nothing on the cluster is an error rather than a wait
// that never ends, as on one machine a service without containers is.
func (c *Client) WaitExit(ctx context.Context, project string, services []string) (*Exit, error) {
	missing, err := c.Missing(ctx, project, services)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("service %s has nothing on the cluster: run berth up -d %s first", missing[0], missing[0])
	}
	lo := metav1.ListOptions{LabelSelector: ProjectSelector(project)}
	var e *Exit
	err = c.poll(ctx, func() (bool, error) {
		pods, _, err := c.listPods(ctx, lo)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, fmt.Errorf("list pods of project %s: %w", project, err)
		}
		e = firstExit(pods, services)
		return e != nil, nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// firstExit is the earliest finished container run of the services' pods.
func firstExit(pods []corev1.Pod, services []string) *Exit {
	var first *Exit
	var at time.Time
	for _, p := range pods {
		svc := serviceOf(p.Labels)
		if !slices.Contains(services, svc) {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			if t == nil {
				t = cs.LastTerminationState.Terminated
			}
			if t == nil {
				continue
			}
			if first == nil || t.FinishedAt.Time.Before(at) {
				first = &Exit{Service: svc, Pod: p.Name, Container: cs.Name, ExitCode: int(t.ExitCode)}
				at = t.FinishedAt.Time
			}
		}
	}
	return first
}

// Missing are those of services that have no workload and no pod of
// project on the cluster, in the order given.
func (c *Client) Missing(ctx context.Context, project string, services []string) ([]string, error) {
	if len(services) == 0 {
		return nil, nil
	}
	sel, err := servicesSelector(project, services)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, gvr := range []schema.GroupVersionResource{gvrDeployment, gvrStatefulSet, gvrJob, gvrPod} {
		list, err := c.dyn.Resource(gvr).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("list %s of project %s: %w", gvr.Resource, project, err)
		}
		for _, u := range list.Items {
			found[serviceOf(u.GetLabels())] = true
		}
	}
	var missing []string
	for _, s := range services {
		if !found[s] {
			missing = append(missing, s)
		}
	}
	return missing, nil
}
