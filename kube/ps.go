package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/go-units"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod is one pod of a project as ps shows it, in docker compose's columns.
type Pod struct {
	Name, Namespace, Service string
	// Image is the images of the pod's containers, comma-separated.
	Image   string
	Created time.Time
	// State is docker's: running, created (pending), exited, restarting.
	State string
	// Health is healthy, unhealthy or starting for a pod whose containers
	// have a readiness probe, else "".
	Health string
	// Status is docker compose's STATUS: "Up 5 minutes (healthy)",
	// "Exited (1) 2 minutes ago", or the reason a pod waits
	// ("ImagePullBackOff").
	Status string
	// Ports are the containers' ports, with the node port that publishes
	// them: "0.0.0.0:30080->8080/tcp".
	Ports string
	// ExitCode is the exit code of a terminated pod's first container.
	ExitCode int
}

// PS lists the pods of project, by service then name. Without all, pods
// that have terminated (a Job's, say) are left out, as docker compose ps
// leaves exited containers out.
func (c *Client) PS(ctx context.Context, project string, all bool, now time.Time) ([]Pod, error) {
	sel := ProjectSelector(project)
	pods, _, err := c.listPods(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list pods of project %s: %w", project, err)
	}
	svcs, _, err := listAll[corev1.Service](ctx, c, gvrService, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list services of project %s: %w", project, err)
	}
	var out []Pod
	for i := range pods {
		p := &pods[i]
		terminated := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		if terminated && !all {
			continue
		}
		out = append(out, describePod(p, svcs, now))
	}
	slices.SortFunc(out, func(a, b Pod) int {
		return strings.Compare(a.Service+"\x00"+a.Name, b.Service+"\x00"+b.Name)
	})
	return out, nil
}

func describePod(p *corev1.Pod, svcs []corev1.Service, now time.Time) Pod {
	d := Pod{Name: p.Name, Namespace: p.Namespace, Service: serviceOf(p.Labels), Created: p.CreationTimestamp.Time}
	var images []string
	probed := false
	for _, ctr := range p.Spec.Containers {
		images = append(images, ctr.Image)
		probed = probed || ctr.ReadinessProbe != nil
	}
	d.Image = strings.Join(images, ",")
	d.Ports = podPorts(p, svcs)
	d.State, d.Status, d.ExitCode = podState(p, now)
	if probed && d.State == "running" {
		switch {
		case podReady(p):
			d.Health = "healthy"
		case startedFor(p, now) > 0 && anyRestartedOrFailing(p):
			d.Health = "unhealthy"
		default:
			d.Health = "starting"
		}
		d.Status += map[string]string{"healthy": " (healthy)", "unhealthy": " (unhealthy)", "starting": " (health: starting)"}[d.Health]
	}
	return d
}

// podState is docker's state, status text and exit code for the pod.
func podState(p *corev1.Pod, now time.Time) (state, status string, code int) {
	if p.DeletionTimestamp != nil {
		return "removing", "Removing", 0
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			if w.Reason == "CrashLoopBackOff" {
				return "restarting", "Restarting (" + lastExit(cs) + ")", 0
			}
			return "created", w.Reason, 0
		}
	}
	switch p.Status.Phase {
	case corev1.PodRunning:
		return "running", "Up " + units.HumanDuration(startedFor(p, now)), 0
	case corev1.PodSucceeded, corev1.PodFailed:
		code, at := 0, time.Time{}
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				code, at = int(t.ExitCode), t.FinishedAt.Time
				break
			}
		}
		return "exited", fmt.Sprintf("Exited (%d) %s ago", code, units.HumanDuration(now.Sub(at))), code
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason != "" {
			return "created", "Pending (" + cond.Reason + ")", 0
		}
	}
	for _, cs := range p.Status.InitContainerStatuses {
		if cs.State.Running != nil || cs.State.Waiting != nil {
			return "created", "Init: waiting for " + cs.Name, 0
		}
	}
	return "created", "Created", 0
}

func lastExit(cs corev1.ContainerStatus) string {
	if t := cs.LastTerminationState.Terminated; t != nil {
		return fmt.Sprint(t.ExitCode)
	}
	return "?"
}

// startedFor is how long the pod's first container has run.
func startedFor(p *corev1.Pod, now time.Time) time.Duration {
	for _, cs := range p.Status.ContainerStatuses {
		if r := cs.State.Running; r != nil {
			return now.Sub(r.StartedAt.Time)
		}
	}
	return 0
}

func anyRestartedOrFailing(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.RestartCount > 0 {
			return true
		}
	}
	return false
}

// podReady reports the pod's Ready condition: every container ready,
// readiness probes passing.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podPorts is docker's PORTS: each container port, with the node port of a
// Service selecting the pod that publishes it.
func podPorts(p *corev1.Pod, svcs []corev1.Service) string {
	var out []string
	for _, ctr := range p.Spec.Containers {
		for _, cp := range ctr.Ports {
			proto := strings.ToLower(string(cp.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			port := fmt.Sprintf("%d/%s", cp.ContainerPort, proto)
			if np := nodePort(p, svcs, cp); np != 0 {
				port = fmt.Sprintf("0.0.0.0:%d->%s", np, port)
			}
			if !slices.Contains(out, port) {
				out = append(out, port)
			}
		}
	}
	return strings.Join(out, ", ")
}

func nodePort(p *corev1.Pod, svcs []corev1.Service, cp corev1.ContainerPort) int32 {
	for _, s := range svcs {
		if s.Namespace != p.Namespace || len(s.Spec.Selector) == 0 || !selects(s.Spec.Selector, p.Labels) {
			continue
		}
		for _, sp := range s.Spec.Ports {
			if sp.NodePort == 0 || sp.Protocol != cp.Protocol && !(sp.Protocol == "" || cp.Protocol == "") {
				continue
			}
			if sp.TargetPort.IntValue() == int(cp.ContainerPort) || sp.TargetPort.String() == cp.Name && cp.Name != "" ||
				sp.TargetPort.IntValue() == 0 && sp.TargetPort.String() == "" && sp.Port == cp.ContainerPort {
				return sp.NodePort
			}
		}
	}
	return 0
}

func selects(sel, l map[string]string) bool {
	for k, v := range sel {
		if l[k] != v {
			return false
		}
	}
	return true
}
