package kube

import (
	"net/url"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestPodLogsQuery: the log request's query is what client-go's typed
// client sends for the same options.
func TestPodLogsQuery(t *testing.T) {
	c, _, _, _ := testClient(t)
	n, since, limit, stream := int64(5), int64(30), int64(1<<20), corev1.LogStreamStderr
	at := metav1.NewTime(now0.Add(-time.Hour))
	for _, o := range []*corev1.PodLogOptions{
		{},
		{Container: "api", Follow: true, Timestamps: true},
		{Container: "api", Previous: true, TailLines: &n},
		{Container: "db", SinceSeconds: &since, LimitBytes: &limit, InsecureSkipTLSVerifyBackend: true, Stream: &stream},
		{SinceTime: &at},
	} {
		want, err := scheme.ParameterCodec.EncodeParameters(o, corev1.SchemeGroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		req, err := c.podLogs("demo", "api-1", o)
		if err != nil {
			t.Fatalf("podLogs(%+v): %v", o, err)
		}
		u := req.URL()
		if u.Path != "/api/v1/namespaces/demo/pods/api-1/log" {
			t.Errorf("podLogs(%+v) path = %q", o, u.Path)
		}
		if got := u.Query(); got.Encode() != url.Values(want).Encode() {
			t.Errorf("podLogs(%+v) query = %q, want client-go's %q", o, got.Encode(), want.Encode())
		}
	}
}

func TestEventPod(t *testing.T) {
	pod, _ := asStored(t, podOf("api", "api-1", corev1.PodStatus{Phase: corev1.PodRunning}))
	status := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": int64(410)}}
	if p := eventPod(watch.Event{Type: watch.Modified, Object: pod}); p == nil || p.Name != "api-1" || p.Status.Phase != corev1.PodRunning || serviceOf(p.Labels) != "api" {
		t.Errorf("eventPod(a pod) = %+v", p)
	}
	if p := eventPod(watch.Event{Type: watch.Error, Object: status}); p != nil {
		t.Errorf("eventPod(an error's Status) = %+v, want nil", p)
	}
}
