package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
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

// timedLog is the log of each container in TestLogsWindow and
// TestLogsIndex: three lines 1.4 s apart, as the kubelet timestamps them.
const timedLog = "2026-12-06T10:00:00.100Z one {pod}\n2026-12-06T10:00:01.500Z two {pod}\n2026-12-06T10:00:02.900Z three {pod}\n"

// TestLogsWindow: --since and --until keep the lines whose timestamps are
// in the window, to the nanosecond; since goes to the API as sinceTime
// (whole seconds, its precision) or, for a duration, as sinceSeconds,
// which the kubelet applies by its own clock.
func TestLogsWindow(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, "2026-12-06T10:00:"+s+"Z")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		o     LogOptions
		want  []string
		query string // the log request's query
	}{
		{"no window", LogOptions{}, []string{"one", "two", "three"}, "container=api&timestamps=true"},
		{"since a time, inclusive", LogOptions{Since: at("01.5")}, []string{"two", "three"},
			"container=api&sinceTime=2026-12-06T10%3A00%3A01Z&timestamps=true"},
		{"until a time, inclusive", LogOptions{Until: at("01.5")}, []string{"one", "two"}, "container=api&timestamps=true"},
		{"both", LogOptions{Since: at("00.2"), Until: at("02.8")}, []string{"two"},
			"container=api&sinceTime=2026-12-06T10%3A00%3A00Z&timestamps=true"},
		{"until before all", LogOptions{Until: at("00.0")}, nil, "container=api&timestamps=true"},
		{"since a duration: the kubelet's", LogOptions{SinceSeconds: 90, Since: at("02.0")}, []string{"one", "two", "three"},
			"container=api&sinceSeconds=90&timestamps=true"},
		{"since a duration, until", LogOptions{SinceSeconds: 90, Until: at("00.1")}, []string{"one"},
			"container=api&sinceSeconds=90&timestamps=true"},
		{"with a tail", LogOptions{Since: at("01.0"), Tail: 2}, []string{"two", "three"},
			"container=api&sinceTime=2026-12-06T10%3A00%3A01Z&tailLines=2&timestamps=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, api, _ := testClient(t, runningPod("api", "api", "api-a", now0))
			api.logText = timedLog
			var got []string
			o := tc.o
			if o.Tail == 0 {
				o.Tail = -1
			}
			err := c.Logs(context.Background(), "demo", o, func(l LogLine) {
				text, _, _ := strings.Cut(l.Line, " ")
				got = append(got, text)
			})
			if err != nil {
				t.Fatalf("Logs: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Logs(%+v) = %q, want %q", tc.o, got, tc.want)
			}
			want := []string{"GET /api/v1/namespaces/demo/pods/api-a/log?" + tc.query}
			if reqs := api.served("/api/v1/namespaces/"); !slices.Equal(reqs, want) {
				t.Errorf("Logs(%+v) requests = %q, want %q", tc.o, reqs, want)
			}
		})
	}
}

// TestLogsIndex: --index N is a StatefulSet's pod of ordinal N-1; a
// Deployment's pods have no stable number, and Logs refuses to pick one.
func TestLogsIndex(t *testing.T) {
	two := int32(2)
	sts := &appsv1.StatefulSet{ObjectMeta: objMeta("demo", "db", "demo", "db"), Spec: appsv1.StatefulSetSpec{Replicas: &two}}
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: objMeta("demo", "api", "demo", "api"), Spec: appsv1.DeploymentSpec{Replicas: &one}}
	var objs []runtime.Object
	for i, name := range []string{"db-1", "db-0"} { // db-1 first: creation order is not the number
		p := runningPod("db", "db", name, now0.Add(time.Duration(i)*time.Second))
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "db"}}
		objs = append(objs, p)
	}
	objs = append(objs, sts, dep, runningPod("api", "api", "api-7c9-x", now0))
	for _, tc := range []struct {
		name     string
		services []string
		index    int
		want     []string
		err      string
	}{
		{"the second replica", []string{"db"}, 2, []string{"db-2 | one db-1", "db-2 | two db-1", "db-2 | three db-1"}, ""},
		{"the first replica", []string{"db"}, 1, []string{"db-1 | one db-0", "db-1 | two db-0", "db-1 | three db-0"}, ""},
		{"past the replicas", []string{"db"}, 3, nil, "service db has no replica 3: its StatefulSet demo/db has 2"},
		{"a Deployment's", []string{"api"}, 1, nil, "service api runs as a Deployment on the cluster, whose pods have no stable replica number"},
		{"two services", []string{"db", "api"}, 1, nil, "replica 1: name one service"},
		{"no service", nil, 1, nil, "replica 1: name one service"},
		{"a service not up", []string{"cache"}, 1, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, api, _ := testClient(t, objs...)
			api.logText = timedLog
			var l lines
			err := c.Logs(context.Background(), "demo", LogOptions{Services: tc.services, Index: tc.index, Tail: -1}, l.add)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Logs(%q, index %d) = %v, want %q", tc.services, tc.index, err, tc.err)
			}
			if got := l.get(); !slices.Equal(got, tc.want) {
				t.Errorf("Logs(%q, index %d) = %q, want %q", tc.services, tc.index, got, tc.want)
			}
		})
	}
}
