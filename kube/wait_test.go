package kube

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func deployment(service string, ready int32, probed bool) *appsv1.Deployment {
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: objMeta("demo", service, "demo", service)}
	d.Spec.Replicas = &one
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: service, Image: service + ":1"}}
	if probed {
		d.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	}
	d.Status = appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: ready, AvailableReplicas: ready}
	return d
}

func podOf(service, name string, status corev1.PodStatus) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: objMeta("demo", name, "demo", service), Status: status}
	p.Spec.Containers = []corev1.Container{{Name: service, Image: service + ":1"}}
	return p
}

func waiting(container, reason, msg string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: container, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}},
	}}}
}

// TestWaitReady: up --wait returns once every service is ready, looking
// again on each tick, and shows each service's step as it changes.
func TestWaitReady(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: objMeta("demo", "migrate", "demo", "migrate")}
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	c, dyn, _, tk := testClient(t, deployment("api", 0, true), deployment("worker", 1, false), job)
	var rec recorder
	done := make(chan error, 1)
	go func() { done <- c.WaitReady(context.Background(), "demo", rec.add) }()
	<-tk.started
	tk.c <- now0 // api is not ready yet: WaitReady looks again
	updateObj(t, dyn, deployment("api", 1, true))
	for waitingFor := true; waitingFor; {
		select {
		case tk.c <- now0:
		case err := <-done:
			if err != nil {
				t.Fatalf("WaitReady: %v", err)
			}
			waitingFor = false
		}
	}
	want := []string{"Service api Waiting", "Service migrate Completed", "Service worker Running", "Service api Healthy"}
	if got := rec.get(); !slices.Equal(got, want) {
		t.Errorf("WaitReady steps = %q, want %q", got, want)
	}
}

// TestWaitReadyFails: when the wait ends (--wait-timeout) or a service
// cannot get ready, the error says why from its pods.
func TestWaitReadyFails(t *testing.T) {
	failedJob := &batchv1.Job{ObjectMeta: objMeta("demo", "migrate", "demo", "migrate")}
	failedJob.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}
	unschedulable := corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}}
	for _, tc := range []struct {
		name    string
		objs    []runtime.Object
		timeout bool // the wait's context ends
		want    []string
	}{
		{name: "image pull", timeout: true, objs: []runtime.Object{deployment("api", 0, true),
			podOf("api", "api-7c9-x", waiting("api", "ImagePullBackOff", `Back-off pulling image "api:1"`))},
			want: []string{`service api is not ready: pod api-7c9-x: container api: ImagePullBackOff: Back-off pulling image "api:1"`}},
		{name: "crash loop shows the last lines", timeout: true, objs: []runtime.Object{deployment("api", 0, true),
			podOf("api", "api-7c9-x", waiting("api", "CrashLoopBackOff", "back-off 40s"))},
			want: []string{"service api is not ready: pod api-7c9-x: container api: CrashLoopBackOff (exit 3), last lines: panic: db unreachable"}},
		{name: "unschedulable", timeout: true, objs: []runtime.Object{deployment("api", 0, true), podOf("api", "api-7c9-x", unschedulable)},
			want: []string{"service api is not ready: pod api-7c9-x: Unschedulable: 0/1 nodes are available: 1 Insufficient memory."}},
		{name: "no pod", timeout: true, objs: []runtime.Object{deployment("api", 0, true), deployment("web", 1, false)},
			want: []string{"service api is not ready: no pod yet"}},
		{name: "failed job, at once", objs: []runtime.Object{failedJob, deployment("api", 0, true)},
			want: []string{"service api is not ready: no pod yet", "service migrate is not ready: job migrate failed: BackoffLimitExceeded"}},
		{name: "image never pulled, at once", objs: []runtime.Object{deployment("api", 0, true),
			podOf("api", "api-7c9-x", waiting("api", "ErrImageNeverPull", "image not present"))},
			want: []string{"service api is not ready: pod api-7c9-x: ErrImageNeverPull: image not present"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _, _ := testClient(t, tc.objs...)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.timeout {
				cancel()
			} else {
				defer cancel()
			}
			err := c.WaitReady(ctx, "demo", nil)
			if err == nil {
				t.Fatalf("WaitReady = nil, want an error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("WaitReady error = %q, want %d lines starting %q", err, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("WaitReady error line %d = %q, want it to start %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestWaitExit(t *testing.T) {
	exited := corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "migrate", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, FinishedAt: metav1.NewTime(now0)}}}}}
	running := corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "api", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	// The Job is there, its pod not yet.
	job := &batchv1.Job{ObjectMeta: objMeta("demo", "migrate", "demo", "migrate")}
	c, dyn, _, tk := testClient(t, podOf("api", "api-1", running), job)
	type result struct {
		e   *Exit
		err error
	}
	done := make(chan result, 1)
	go func() {
		e, err := c.WaitExit(context.Background(), "demo", []string{"migrate"})
		done <- result{e, err}
	}()
	select {
	case <-tk.started:
	case r := <-done:
		t.Fatalf("WaitExit = %+v, %v before its first tick, want it to wait for migrate's pod", r.e, r.err)
	}
	createObj(t, dyn, podOf("migrate", "migrate-x", exited))
	for {
		select {
		case tk.c <- now0:
			continue
		case r := <-done:
			if r.err != nil || r.e == nil || r.e.ExitCode != 2 || r.e.Service != "migrate" {
				t.Fatalf("WaitExit = %+v, %v, want migrate's exit 2", r.e, r.err)
			}
		}
		return
	}
}

// TestWaitExitNothingDeployed: a service that has nothing on the cluster
// (a typo, a service not up) fails at once, naming it, instead of waiting
// for an exit that never comes.
func TestWaitExitNothingDeployed(t *testing.T) {
	running := corev1.PodStatus{Phase: corev1.PodRunning}
	for _, tc := range []struct {
		name     string
		services []string
		want     string
	}{
		{"not up", []string{"api", "worker"}, "service worker has nothing on the cluster: run berth up -d worker first"},
		{"another project's", []string{"other"}, "service other has nothing on the cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := podOf("other", "other-1", running)
			other.Labels = projectLabels("elsewhere", "other")
			c, _, _, _ := testClient(t, podOf("api", "api-1", running), other)
			e, err := c.WaitExit(context.Background(), "demo", tc.services)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("WaitExit(%q) = %+v, %v, want %q", tc.services, e, err, tc.want)
			}
		})
	}
}

// TestWaitServicesReady: up SERVICE... --wait waits for those services
// only: another service that never gets ready (or whose Job failed) is
// neither waited for, nor reported, nor blamed.
func TestWaitServicesReady(t *testing.T) {
	failedJob := &batchv1.Job{ObjectMeta: objMeta("demo", "migrate", "demo", "migrate")}
	failedJob.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"}}
	for _, tc := range []struct {
		name     string
		services []string
		want     []string
		err      string
	}{
		{"ready ones", []string{"api", "worker"}, []string{"Service api Healthy", "Service worker Running"}, ""},
		{"one", []string{"worker"}, []string{"Service worker Running"}, ""},
		{"a failed one", []string{"worker", "migrate"}, []string{"Service migrate Error: job migrate failed: BackoffLimitExceeded: ", "Service worker Running"},
			"service migrate is not ready: job migrate failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _, _ := testClient(t, deployment("api", 1, true), deployment("worker", 1, false), deployment("web", 0, false), failedJob)
			var rec recorder
			// Ready or failed at the first look: no tick is needed.
			err := c.WaitServicesReady(context.Background(), "demo", tc.services, rec.add)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "web")) {
				t.Errorf("WaitServicesReady(%q) = %v, want %q", tc.services, err, tc.err)
			}
			if got := rec.get(); !slices.Equal(got, tc.want) {
				t.Errorf("WaitServicesReady(%q) steps = %q, want %q", tc.services, got, tc.want)
			}
		})
	}
}
