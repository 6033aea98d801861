//go:build e2e

package kube

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth/berth/compose"
)

// TestClusterClient drives the Client against a real cluster: the one
// scripts/kube-cluster.sh brings up, whose kubeconfig is in
// $BERTH_TEST_KUBECONFIG (the test skips without it). It checks what the
// fakes cannot: a re-apply keeps every resourceVersion, up --wait's
// readiness on real pods, its error for an image the cluster does not
// have, and down removing the namespace it made.
func TestClusterClient(t *testing.T) {
	kc := os.Getenv("BERTH_TEST_KUBECONFIG")
	if kc == "" {
		t.Skip("BERTH_TEST_KUBECONFIG is not set: no cluster (scripts/kube-cluster.sh up DIR writes DIR/kubeconfig)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Dial(ctx, Kubeconfig{Path: kc})
	if err != nil {
		t.Fatal(err)
	}
	project := "kclient-e2e"
	ns := project
	defer func() {
		if err := c.Down(context.WithoutCancel(ctx), project, DownOptions{Volumes: true}, nil); err != nil {
			t.Errorf("Down: %v", err)
		}
	}()
	objs := clusterObjects(t, project, ns, "docker.io/library/busybox:latest")
	var rec recorder
	if err := c.Apply(ctx, ns, objs, rec.add); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if err := c.WaitReady(wctx, project, rec.add); err != nil {
		t.Fatalf("WaitReady: %v (steps %q)", err, rec.get())
	}
	for _, want := range []string{"Service api Healthy", "Service migrate Completed"} {
		if !slices.Contains(rec.get(), want) {
			t.Errorf("steps %q, want %q", rec.get(), want)
		}
	}
	before := clusterVersions(t, c, ns)
	rec = recorder{}
	if err := c.Apply(ctx, ns, objs, rec.add); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	for _, s := range rec.get() {
		if !strings.HasSuffix(s, " Unchanged") {
			t.Errorf("second Apply: %q, want Unchanged", s)
		}
	}
	if after := clusterVersions(t, c, ns); !maps.Equal(before, after) {
		t.Errorf("resourceVersions after re-apply = %v, want %v", after, before)
	}
	pods, err := c.PS(ctx, project, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, p := range pods {
		states = append(states, p.Service+":"+p.State+":"+p.Health)
	}
	if !slices.Contains(states, "api:running:healthy") || !slices.Contains(states, "migrate:exited:") {
		t.Errorf("PS states = %q, want api running healthy and migrate exited", states)
	}
	var l lines
	if err := c.Logs(ctx, project, LogOptions{Services: []string{"api"}, Tail: -1}, l.add); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	if got := l.get(); !slices.Contains(got, "api-1 | hello from api") {
		t.Errorf("Logs = %q, want api-1 | hello from api", got)
	}
	e, err := c.WaitExit(ctx, project, []string{"migrate"})
	if err != nil || e.ExitCode != 0 {
		t.Errorf("WaitExit(migrate) = %+v, %v, want exit 0", e, err)
	}

	// An image the cluster does not have: up --wait says so.
	bad := clusterObjects(t, project, ns, "berth.local/absent:1")[3:4] // the api Deployment
	bad[0].SetName("absent")
	unstructured.SetNestedStringMap(bad[0].Object, map[string]string{compose.LabelService: "absent", compose.LabelProject: project}, "spec", "selector", "matchLabels")
	tmplLabels := projectLabels(project, "absent")
	unstructured.SetNestedStringMap(bad[0].Object, tmplLabels, "spec", "template", "metadata", "labels")
	bad[0].SetLabels(tmplLabels)
	if err := c.Apply(ctx, ns, bad, nil); err != nil {
		t.Fatalf("Apply of a missing image: %v", err)
	}
	wctx2, wcancel2 := context.WithTimeout(ctx, 45*time.Second)
	defer wcancel2()
	err = c.WaitReady(wctx2, project, nil)
	if err == nil || !strings.Contains(err.Error(), "service absent is not ready: pod absent-") || !strings.Contains(err.Error(), "ImagePull") {
		t.Errorf("WaitReady with a missing image = %v, want service absent not ready with ImagePull…", err)
	}

	rec = recorder{}
	if err := c.Down(ctx, project, DownOptions{Volumes: true}, rec.add); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if !slices.Contains(rec.get(), "Namespace "+ns+" Removed") {
		t.Errorf("Down steps = %q, want the namespace removed", rec.get())
	}
	if left, err := c.PS(ctx, project, true, time.Now()); err != nil || len(left) > 0 {
		t.Errorf("after Down, PS = %+v, %v, want nothing", left, err)
	}
}

// clusterObjects: a Namespace, a ConfigMap, a Job migrate and a Deployment
// api with a readiness probe, all of image.
func clusterObjects(t *testing.T, project, ns, image string) []*unstructured.Unstructured {
	one := int32(1)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{compose.LabelProject: project, compose.LabelService: "api"}}
	ctr := func(name, script string) corev1.Container {
		return corev1.Container{Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sh", "-c", script}}
	}
	api := ctr("api", "echo hello from api; exec sleep 3600")
	api.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1}
	job := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: objMeta(ns, "migrate", project, "migrate")}
	job.Spec.Template.Labels = projectLabels(project, "migrate")
	job.Spec.Template.Spec = corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{ctr("migrate", "echo migrated")}}
	objs := []runtime.Object{
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: objMeta("", ns, project, "")},
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: objMeta(ns, "api-env", project, "api"), Data: map[string]string{"A": "1"}},
		job,
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: objMeta(ns, "api", project, "api"),
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: sel, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: projectLabels(project, "api")},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{api}}}}},
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func clusterVersions(t *testing.T, c *Client, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvr := range []schemaGVR{gvrNamespace, gvrConfigMap, gvrJob, gvrDeployment} {
		list, err := c.dyn.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: ProjectSelector("kclient-e2e")})
		if gvr == gvrNamespace {
			list, err = c.dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{LabelSelector: ProjectSelector("kclient-e2e")})
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Items {
			out[gvr.Resource+"/"+u.GetName()] = u.GetResourceVersion()
		}
	}
	return out
}
