package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readiness is where a service stands in a wait.
type readiness struct {
	// text is the progress step: Waiting, Healthy, Running, Completed.
	text  string
	ready bool
	// failed, when set, is why the service will not get ready.
	failed string
}

// permanentReasons are the reasons a container waits for that no waiting
// cures: up --wait fails on them at once.
var permanentReasons = []string{"ErrImageNeverPull", "InvalidImageName"}

// WaitReady waits until every workload of project is ready, as up --wait
// does on one machine: Deployments and StatefulSets with all their pods
// ready (readiness probes are the healthchecks, so ready is healthy), Jobs
// completed. It reports each service's step as it changes. When ctx ends
// first (--wait-timeout) or a service cannot get ready (a failed Job, an
// image the cluster may never pull), the error names each service that is
// not ready and why, from its pods: the waiting reason (ImagePullBackOff,
// CrashLoopBackOff with the last log lines), an unschedulable pod.
func (c *Client) WaitReady(ctx context.Context, project string, progress ProgressFunc) error {
	return c.WaitServicesReady(ctx, project, nil, progress)
}

// WaitServicesReady is WaitReady for services only (nil is every service),
// as up SERVICE... --wait waits for the services it applied: the
// workloads of other services are neither waited for nor reported.
func (c *Client) WaitServicesReady(ctx context.Context, project string, services []string, progress ProgressFunc) error {
	shown := map[string]string{}
	var states map[string]readiness
	failed := false
	err := c.poll(ctx, func() (bool, error) {
		var err error
		if states, err = c.readiness(ctx, project, services); err != nil {
			return false, err
		}
		allReady := true
		for _, svc := range slices.Sorted(maps.Keys(states)) {
			st := states[svc]
			text := st.text
			if st.failed != "" {
				text, failed = "Error", true
			}
			if shown[svc] != text {
				shown[svc] = text
				progress.emit(Progress{Kind: "Service", Name: svc, Text: text, Done: st.ready, Failed: st.failed != "", Detail: st.failed})
			}
			allReady = allReady && st.ready
		}
		return failed || allReady, nil
	})
	switch {
	case err == nil && failed:
		return c.notReady(context.WithoutCancel(ctx), project, states)
	case err == nil:
		return nil
	case ctx.Err() == nil:
		return err
	}
	// Explaining needs the cluster once more, after the wait's deadline.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dialTimeout)
	defer cancel()
	states, err = c.readiness(ectx, project, services)
	if err != nil {
		return fmt.Errorf("wait for project %s: %w", project, ctx.Err())
	}
	return c.notReady(ectx, project, states)
}

// readiness judges each service of project by its workloads: those of
// services only, unless nil.
func (c *Client) readiness(ctx context.Context, project string, services []string) (map[string]readiness, error) {
	lo := metav1.ListOptions{LabelSelector: ProjectSelector(project)}
	deps, _, err := listAll[appsv1.Deployment](ctx, c, gvrDeployment, lo)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	sets, _, err := listAll[appsv1.StatefulSet](ctx, c, gvrStatefulSet, lo)
	if err != nil {
		return nil, fmt.Errorf("list statefulsets: %w", err)
	}
	jobs, _, err := listAll[batchv1.Job](ctx, c, gvrJob, lo)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	pods, _, err := c.listPods(ctx, lo)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	out := map[string]readiness{}
	for _, d := range deps {
		out[serviceOf(d.Labels)] = podsReady(deploymentReady(&d), d.Spec.Template.Spec, serviceOf(d.Labels), pods)
	}
	for _, s := range sets {
		out[serviceOf(s.Labels)] = podsReady(statefulSetReady(&s), s.Spec.Template.Spec, serviceOf(s.Labels), pods)
	}
	for _, j := range jobs {
		out[serviceOf(j.Labels)] = jobReadiness(&j)
	}
	if services != nil {
		maps.DeleteFunc(out, func(svc string, _ readiness) bool { return !slices.Contains(services, svc) })
	}
	return out, nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func deploymentReady(d *appsv1.Deployment) bool {
	n, s := replicas(d.Spec.Replicas), d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == n && s.ReadyReplicas == n &&
		s.AvailableReplicas == n && s.Replicas == n
}

func statefulSetReady(s *appsv1.StatefulSet) bool {
	n, st := replicas(s.Spec.Replicas), s.Status
	return st.ObservedGeneration >= s.Generation && st.ReadyReplicas == n && st.UpdatedReplicas == n &&
		st.Replicas == n && (st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision)
}

// podsReady is a long-running service's readiness: Healthy when ready and
// its containers have readiness probes, Running when ready without.
func podsReady(ready bool, spec corev1.PodSpec, service string, pods []corev1.Pod) readiness {
	probed := slices.ContainsFunc(spec.Containers, func(c corev1.Container) bool { return c.ReadinessProbe != nil })
	if ready {
		if probed {
			return readiness{text: "Healthy", ready: true}
		}
		return readiness{text: "Running", ready: true}
	}
	for _, p := range pods {
		if serviceOf(p.Labels) != service {
			continue
		}
		for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && slices.Contains(permanentReasons, w.Reason) {
				return readiness{text: "Waiting", failed: fmt.Sprintf("pod %s: %s: %s", p.Name, w.Reason, w.Message)}
			}
		}
	}
	return readiness{text: "Waiting"}
}

func jobReadiness(j *batchv1.Job) readiness {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return readiness{text: "Completed", ready: true}
		case batchv1.JobFailed:
			return readiness{text: "Waiting", failed: fmt.Sprintf("job %s failed: %s: %s", j.Name, c.Reason, c.Message)}
		}
	}
	return readiness{text: "Waiting"}
}

// notReady is the error of a wait that ended with services not ready: one
// line per service, with what its pods wait for.
func (c *Client) notReady(ctx context.Context, project string, states map[string]readiness) error {
	pods, _, err := c.listPods(ctx, metav1.ListOptions{LabelSelector: ProjectSelector(project)})
	if err != nil {
		return fmt.Errorf("list pods of project %s: %w", project, err)
	}
	var lines []string
	for _, svc := range slices.Sorted(maps.Keys(states)) {
		st := states[svc]
		if st.ready {
			continue
		}
		why := st.failed
		if why == "" {
			why = c.podReasons(ctx, svc, pods)
		}
		lines = append(lines, fmt.Sprintf("service %s is not ready: %s", svc, why))
	}
	if len(lines) == 0 {
		return fmt.Errorf("wait for project %s: %w", project, ctx.Err())
	}
	return errors.New(strings.Join(lines, "\n"))
}

// crashLogLines is how many of a crashing container's last lines an error
// shows.
const crashLogLines = 5

// podReasons says why the service's pods are not ready.
func (c *Client) podReasons(ctx context.Context, service string, pods []corev1.Pod) string {
	var why []string
	for _, p := range pods {
		if serviceOf(p.Labels) != service {
			continue
		}
		if r := c.podReason(ctx, &p); r != "" {
			why = append(why, "pod "+p.Name+": "+r)
		}
	}
	if len(why) == 0 {
		return "no pod yet (kubectl describe the workload for its events)"
	}
	return strings.Join(why, "; ")
}

func (c *Client) podReason(ctx context.Context, p *corev1.Pod) string {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
			return fmt.Sprintf("%s: %s", cond.Reason, cond.Message)
		}
	}
	statuses := []struct {
		init bool
		list []corev1.ContainerStatus
	}{{true, p.Status.InitContainerStatuses}, {false, p.Status.ContainerStatuses}}
	for _, s := range statuses {
		for _, cs := range s.list {
			w := cs.State.Waiting
			switch {
			case w != nil && w.Reason == "CrashLoopBackOff":
				return fmt.Sprintf("container %s: CrashLoopBackOff (exit %s)%s", cs.Name, lastExit(cs), c.lastLines(ctx, p, cs.Name))
			case w != nil && w.Reason != "" && w.Reason != "PodInitializing" && w.Reason != "ContainerCreating":
				return fmt.Sprintf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
			case s.init && cs.State.Running != nil:
				return fmt.Sprintf("init container %s still waits (a dependency is not ready or not completed)", cs.Name)
			case !s.init && cs.State.Running != nil && !cs.Ready:
				return fmt.Sprintf("container %s runs but is not ready (its readiness probe, the healthcheck, fails)", cs.Name)
			}
		}
	}
	return "phase " + string(p.Status.Phase)
}

// lastLines is ", last lines: ..." of the container's previous run.
func (c *Client) lastLines(ctx context.Context, p *corev1.Pod, container string) string {
	n := int64(crashLogLines)
	req, err := c.podLogs(p.Namespace, p.Name, &corev1.PodLogOptions{Container: container, Previous: true, TailLines: &n})
	if err != nil {
		return ""
	}
	b, err := req.DoRaw(ctx)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return ""
	}
	return ", last lines: " + strings.Join(strings.Split(strings.TrimSpace(string(b)), "\n"), " / ")
}

// poll calls check at once and then every pollInterval until it reports
// done or fails, or ctx ends (its error).
func (c *Client) poll(ctx context.Context, check func() (done bool, err error)) error {
	var tick <-chan time.Time
	for {
		if done, err := check(); done || err != nil {
			return err
		}
		if tick == nil {
			t, stop := c.ticker(pollInterval)
			defer stop()
			tick = t
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
		}
	}
}
