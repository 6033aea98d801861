package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func runningPod(service, container, name string, created time.Time) *corev1.Pod {
	p := podOf(service, name, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: container, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}})
	p.Spec.Containers[0].Name = container
	p.CreationTimestamp = metav1.NewTime(created)
	p.UID = types.UID("uid-" + name)
	return p
}

type lines struct {
	mu  sync.Mutex
	got []string
	// added, when set, gets a value for each line.
	added chan struct{}
}

func (l *lines) add(ll LogLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, fmt.Sprintf("%s | %s", ll.Source, ll.Line))
	if l.added != nil {
		l.added <- struct{}{}
	}
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

func TestLogs(t *testing.T) {
	db := runningPod("db", "db", "db-0", now0)
	db.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "db"}}
	objs := []runtime.Object{
		runningPod("api", "api", "api-b", now0.Add(time.Second)), // created second: api-2
		runningPod("api", "api", "api-a", now0),
		db,
		podOf("worker", "worker-x", waiting("worker", "ContainerCreating", "")), // no logs yet
	}
	for _, tc := range []struct {
		name     string
		services []string
		want     []string
		sources  []string
	}{
		{"all", nil, []string{"api-1 | hello from api", "api-1 | no time api", "api-2 | hello from api", "api-2 | no time api",
			"db-1 | hello from db", "db-1 | no time db"}, []string{"api-1", "api-2", "db-1", "worker-1"}},
		{"one service", []string{"db"}, []string{"db-1 | hello from db", "db-1 | no time db"}, []string{"db-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, api, _ := testClient(t, objs...)
			var l lines
			var sources []string
			o := LogOptions{Services: tc.services, Tail: -1, Sources: func(s []string) { sources = s }}
			if err := c.Logs(context.Background(), "demo", o, l.add); err != nil {
				t.Fatalf("Logs: %v", err)
			}
			if !slices.Equal(sources, tc.sources) {
				t.Errorf("Logs sources = %q, want %q", sources, tc.sources)
			}
			if got := l.get(); !slices.Equal(got, tc.want) {
				t.Errorf("Logs = %q, want %q", got, tc.want)
			}
			// Each started container's whole log, once, with the
			// kubelet's timestamps, not followed.
			var wantReqs []string
			for _, s := range tc.sources {
				if s == "worker-1" {
					continue
				}
				pod := map[string]string{"api-1": "api-a", "api-2": "api-b", "db-1": "db-0"}[s]
				svc, _, _ := strings.Cut(s, "-")
				wantReqs = append(wantReqs, "GET /api/v1/namespaces/demo/pods/"+pod+"/log?container="+svc+"&timestamps=true")
			}
			if got := api.served("/api/v1/namespaces/"); !slices.Equal(got, wantReqs) {
				t.Errorf("Logs requests = %q, want %q", got, wantReqs)
			}
		})
	}
}

// TestLogsFollow: following picks up a pod created meanwhile (the pod
// that replaces a terminating one takes its number).
func TestLogsFollow(t *testing.T) {
	old := runningPod("api", "api", "api-a", now0)
	c, dyn, api, _ := testClient(t, old)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := lines{added: make(chan struct{}, 100)}
	done := make(chan error, 1)
	go func() { done <- c.Logs(ctx, "demo", LogOptions{Follow: true, Tail: -1}, l.add) }()
	waitLines := func(n int) {
		t.Helper()
		for len(l.get()) < n {
			select {
			case err := <-done:
				t.Fatalf("Logs ended: %v", err)
			case <-l.added:
			}
		}
	}
	waitLines(2)
	// The old pod terminates (a rollout): the new one takes its number.
	terminating := old.DeepCopy()
	gone := metav1.NewTime(now0)
	terminating.DeletionTimestamp = &gone
	updateObj(t, dyn, terminating)
	createObj(t, dyn, runningPod("api", "api", "api-c", now0.Add(time.Minute)))
	waitLines(4)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Logs after cancel = %v, want nil", err)
	}
	want := []string{"api-1 | hello from api", "api-1 | no time api", "api-1 | hello from api", "api-1 | no time api"}
	if got := l.get(); !slices.Equal(got, want) {
		t.Errorf("Logs = %q, want %q", got, want)
	}
	wantReqs := []string{
		"GET /api/v1/namespaces/demo/pods/api-a/log?container=api&follow=true&timestamps=true",
		"GET /api/v1/namespaces/demo/pods/api-c/log?container=api&follow=true&timestamps=true",
	}
	if got := api.served("/api/v1/namespaces/"); !slices.Equal(got, wantReqs) {
		t.Errorf("Logs requests = %q, want %q", got, wantReqs)
	}
}
