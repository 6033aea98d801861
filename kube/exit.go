package kube

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Exit is a container that exited: berth wait prints its code.
type Exit struct {
	Service, Pod, Container string
	ExitCode                int
}

// WaitExit waits until a pod's container of one of services exits, as
// docker compose wait waits for a container of the services to stop, and
// returns that exit. A container already exited counts: a Job's pod that
// completed, a container that exited and restarted (its last run).
func (c *Client) WaitExit(ctx context.Context, project string, services []string) (*Exit, error) {
	lo := metav1.ListOptions{LabelSelector: ProjectSelector(project)}
	var e *Exit
	err := c.poll(ctx, func() (bool, error) {
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
