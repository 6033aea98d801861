package kube

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPS(t *testing.T) {
	started := metav1.NewTime(now0.Add(-5 * time.Minute))
	run := func(ready bool) corev1.PodStatus {
		cond := corev1.ConditionFalse
		if ready {
			cond = corev1.ConditionTrue
		}
		return corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}}}
	}
	api := podOf("api", "api-7c9-x", run(true))
	api.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	api.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {ContainerPort: 9090, Protocol: corev1.ProtocolTCP}}
	starting := podOf("web", "web-1", run(false))
	starting.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	exited := podOf("migrate", "migrate-x", corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, FinishedAt: metav1.NewTime(now0.Add(-2 * time.Minute))}}}}})
	pull := podOf("worker", "worker-y", waiting("worker", "ImagePullBackOff", ""))
	svc := &corev1.Service{ObjectMeta: objMeta("demo", "api-published", "demo", "api"), Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"com.docker.compose.service": "api"},
		Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080, Protocol: corev1.ProtocolTCP}}}}
	c, _, _, _ := testClient(t, api, starting, exited, pull, svc)
	for _, tc := range []struct {
		all  bool
		want []Pod
	}{
		{false, []Pod{
			{Name: "api-7c9-x", Service: "api", State: "running", Health: "healthy", Status: "Up 5 minutes (healthy)", Ports: "0.0.0.0:30080->8080/tcp, 9090/tcp"},
			{Name: "web-1", Service: "web", State: "running", Health: "starting", Status: "Up 5 minutes (health: starting)"},
			{Name: "worker-y", Service: "worker", State: "created", Status: "ImagePullBackOff"},
		}},
		{true, []Pod{
			{Name: "api-7c9-x", Service: "api", State: "running", Health: "healthy", Status: "Up 5 minutes (healthy)", Ports: "0.0.0.0:30080->8080/tcp, 9090/tcp"},
			{Name: "migrate-x", Service: "migrate", State: "exited", Status: "Exited (0) 2 minutes ago"},
			{Name: "web-1", Service: "web", State: "running", Health: "starting", Status: "Up 5 minutes (health: starting)"},
			{Name: "worker-y", Service: "worker", State: "created", Status: "ImagePullBackOff"},
		}},
	} {
		got, err := c.PS(context.Background(), "demo", tc.all, now0)
		if err != nil {
			t.Fatalf("PS: %v", err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("PS(all=%v) = %+v, want %d pods", tc.all, got, len(tc.want))
		}
		for i, w := range tc.want {
			g := got[i]
			if g.Name != w.Name || g.Service != w.Service || g.State != w.State || g.Health != w.Health || g.Status != w.Status || g.Ports != w.Ports {
				t.Errorf("PS(all=%v)[%d] = %+v, want %+v", tc.all, i, g, w)
			}
			if g.Namespace != "demo" || g.Image != w.Service+":1" {
				t.Errorf("PS(all=%v)[%d] namespace, image = %q, %q", tc.all, i, g.Namespace, g.Image)
			}
		}
	}
}
