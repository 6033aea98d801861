//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/kube"
)

// TestKubeClusterClient drives kube.Client against the test cluster
// (needKubeCluster). It checks what the fakes of kube's unit tests cannot:
// a re-apply keeps every resourceVersion, up --wait's readiness on real
// pods, its error for an image the cluster does not have, and down
// removing the namespace it made.
func TestKubeClusterClient(t *testing.T) {
	kc := needKubeCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := kube.Dial(ctx, kube.Kubeconfig{Path: kc.kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	project := "kube-cluster-client"
	ns := project
	defer func() {
		if err := c.Down(context.WithoutCancel(ctx), project, kube.DownOptions{Volumes: true}, nil); err != nil {
			t.Errorf("Down: %v", err)
		}
	}()
	objs := kubeClusterObjects(t, project, ns, "docker.io/library/busybox:latest")
	var rec kubeRecorder
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
	before := kubeClusterVersions(t, kc, project, ns)
	rec = kubeRecorder{}
	if err := c.Apply(ctx, ns, objs, rec.add); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	for _, s := range rec.get() {
		if !strings.HasSuffix(s, " Unchanged") {
			t.Errorf("second Apply: %q, want Unchanged", s)
		}
	}
	if after := kubeClusterVersions(t, kc, project, ns); !maps.Equal(before, after) {
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
	var l kubeLines
	if err := c.Logs(ctx, project, kube.LogOptions{Services: []string{"api"}, Tail: -1}, l.add); err != nil {
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
	bad := kubeClusterObjects(t, project, ns, "berth.local/absent:1")[3:4] // the api Deployment
	bad[0].SetName("absent")
	unstructured.SetNestedStringMap(bad[0].Object, map[string]string{compose.LabelService: "absent", compose.LabelProject: project}, "spec", "selector", "matchLabels")
	tmplLabels := kubeProjectLabels(project, "absent")
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

	rec = kubeRecorder{}
	if err := c.Down(ctx, project, kube.DownOptions{Volumes: true}, rec.add); err != nil {
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
func kubeClusterObjects(t *testing.T, project, ns, image string) []*unstructured.Unstructured {
	one := int32(1)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{compose.LabelProject: project, compose.LabelService: "api"}}
	ctr := func(name, script string) corev1.Container {
		return corev1.Container{Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sh", "-c", script}}
	}
	api := ctr("api", "echo hello from api; exec sleep 3600")
	api.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1}
	job := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: kubeObjMeta(ns, "migrate", project, "migrate")}
	job.Spec.Template.Labels = kubeProjectLabels(project, "migrate")
	job.Spec.Template.Spec = corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{ctr("migrate", "echo migrated")}}
	objs := []runtime.Object{
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: kubeObjMeta("", ns, project, "")},
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: kubeObjMeta(ns, "api-env", project, "api"), Data: map[string]string{"A": "1"}},
		job,
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: kubeObjMeta(ns, "api", project, "api"),
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: sel, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: kubeProjectLabels(project, "api")},
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

// kubeClusterVersions maps kind/name to resourceVersion for the project's
// namespace, configmap, job and deployment.
func kubeClusterVersions(t *testing.T, kc *kubeCluster, project, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	const format = `{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`
	sel := kube.ProjectSelector(project)
	text := kc.mustKubectl(t, "get", "namespaces", "-l", sel, "-o", "jsonpath="+format) +
		kc.mustKubectl(t, "-n", ns, "get", "configmaps,jobs,deployments", "-l", sel, "-o", "jsonpath="+format)
	for _, line := range strings.Fields(text) {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	if len(out) != 4 {
		t.Fatalf("resourceVersions of the project = %v, want its namespace, configmap, job and deployment", out)
	}
	return out
}

// kubeProjectLabels are the labels Convert puts on the project's objects
// (and the service's, when service is not "").
func kubeProjectLabels(project, service string) map[string]string {
	l := map[string]string{kube.LabelManagedBy: kube.ManagedBy, kube.LabelPartOf: project, compose.LabelProject: project}
	if service != "" {
		l[compose.LabelService] = service
	}
	return l
}

func kubeObjMeta(ns, name, project, service string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: kubeProjectLabels(project, service)}
}

// kubeRecorder collects progress steps as "Kind Name Text" lines.
type kubeRecorder struct {
	mu    sync.Mutex
	steps []string
}

func (r *kubeRecorder) add(p kube.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("%s %s %s", p.Kind, p.Name, p.Text)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	r.steps = append(r.steps, s)
}

func (r *kubeRecorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.steps)
}

// kubeLines collects log lines as "source | line".
type kubeLines struct {
	mu  sync.Mutex
	got []string
}

func (l *kubeLines) add(ll kube.LogLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, ll.Source+" | "+ll.Line)
}

func (l *kubeLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}
