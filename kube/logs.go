package kube

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// LogLine is one line of a pod's container, with the name logs shows it
// under: the service and a replica number, "api-1", as on one machine.
type LogLine struct {
	// Source is "service-N", the prefix; Pod and Container say where the
	// line comes from.
	Source, Service, Pod, Container string
	Time                            time.Time
	// Line is the text, without its newline.
	Line string
}

// LogOptions say which lines Logs shows.
type LogOptions struct {
	// Services limits the logs to these services; nil is all.
	Services []string
	// Follow keeps streaming, and picks up pods created meanwhile (a
	// recreated pod, a restarted container) until ctx ends.
	Follow bool
	// Tail is how many of each container's last lines to show; -1 is all.
	Tail int64
	// Sources, when set, is called once before any line with the
	// prefixes of the pods there are at the start, by service and number,
	// so that a printer aligns them from the first line.
	Sources func([]string)
	// Since and Until keep the lines whose time (the kubelet's timestamp)
	// is within [Since, Until]; zero is unbounded. Since is also sent to
	// the API (sinceTime, whole seconds: its precision) so that the
	// kubelet skips what is older; the lines are judged here to the
	// nanosecond. Without Follow, a container's stream ends at its first
	// line past Until.
	Since, Until time.Time
	// SinceSeconds, when positive, asks the API for the lines of the last
	// SinceSeconds seconds by the kubelet's clock (sinceSeconds), the one
	// that timestamps them: what a --since duration means, whatever the
	// skew between this machine and the node. Since is then ignored.
	SinceSeconds int64
	// Index, when positive, keeps only replica Index of the one service
	// Services names, numbered from 1 as compose numbers containers: for a
	// StatefulSet its pod of ordinal Index-1. A Deployment's or a Job's
	// pods have no stable number (a replaced pod has another name, and
	// berth numbers pods in the order it sees them), so Logs refuses an
	// Index for them rather than pick a pod that another run would not.
	Index int
}

// Logs streams the project's pods' logs to out, which must be safe for
// concurrent use when following. A pod's containers that have not started
// yet have no logs, and are followed once they start.
func (c *Client) Logs(ctx context.Context, project string, o LogOptions, out func(LogLine)) error {
	if o.Index > 0 {
		if err := c.checkIndex(ctx, project, o); err != nil {
			return err
		}
	}
	lo := metav1.ListOptions{LabelSelector: ProjectSelector(project)}
	pods, rv, err := c.listPods(ctx, lo)
	if err != nil {
		return fmt.Errorf("list pods of project %s: %w", project, err)
	}
	items := slices.DeleteFunc(pods, func(p corev1.Pod) bool { return !o.keep(&p) })
	slices.SortFunc(items, func(a, b corev1.Pod) int {
		if d := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	f := &follower{c: c, o: o, out: out, numbers: newNumbering(), streamed: map[string]int32{}}
	for i := range items {
		f.numbers.number(&items[i])
	}
	// By service and number: the order of the prefixes, and without -f
	// of the output, one container after the other.
	slices.SortStableFunc(items, func(a, b corev1.Pod) int {
		if d := strings.Compare(serviceOf(a.Labels), serviceOf(b.Labels)); d != 0 {
			return d
		}
		return f.numbers.number(&a) - f.numbers.number(&b)
	})
	if o.Sources != nil {
		var sources []string
		for i := range items {
			sources = append(sources, f.numbers.source(&items[i]))
		}
		o.Sources(sources)
	}
	if !o.Follow {
		for i := range items {
			if err := f.podLogs(ctx, &items[i], false); err != nil {
				return err
			}
		}
		return nil
	}
	lo.ResourceVersion = rv
	w, err := c.dyn.Resource(gvrPod).Namespace(metav1.NamespaceAll).Watch(ctx, lo)
	if err != nil {
		return fmt.Errorf("watch pods of project %s: %w", project, err)
	}
	defer w.Stop()
	for i := range items {
		f.start(ctx, &items[i])
	}
	defer f.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch pods of project %s: the cluster ended the watch", project)
			}
			p := eventPod(ev)
			if p == nil || !o.keep(p) {
				continue
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if p.DeletionTimestamp != nil {
					// A pod being replaced: its number goes to the
					// pod that replaces it, as a recreated container
					// keeps its number. Its last lines keep theirs.
					f.numbers.free(p)
					continue
				}
				f.numbers.number(p)
				f.start(ctx, p)
			case watch.Deleted:
				f.numbers.free(p)
			}
		}
	}
}

// keep reports whether the logs of pod p are shown: a pod of Services,
// and of replica Index when given.
func (o *LogOptions) keep(p *corev1.Pod) bool {
	if len(o.Services) > 0 && !slices.Contains(o.Services, serviceOf(p.Labels)) {
		return false
	}
	return o.Index <= 0 || ordinal(p) == o.Index
}

// checkIndex refuses o.Index unless it names a replica of the one service
// o names that has a stable number: a StatefulSet's pod (see
// LogOptions.Index). A service with no workload on the cluster passes: it
// has no logs to show, as on one machine.
func (c *Client) checkIndex(ctx context.Context, project string, o LogOptions) error {
	if len(o.Services) != 1 {
		return fmt.Errorf("replica %d: name one service whose replica it is", o.Index)
	}
	svc := o.Services[0]
	sel, err := servicesSelector(project, o.Services)
	if err != nil {
		return err
	}
	lo := metav1.ListOptions{LabelSelector: sel}
	sets, _, err := listAll[appsv1.StatefulSet](ctx, c, gvrStatefulSet, lo)
	if err != nil {
		return fmt.Errorf("list statefulsets of service %s: %w", svc, err)
	}
	if len(sets) > 0 {
		s := sets[0]
		if n := replicas(s.Spec.Replicas); int64(o.Index) > int64(n) {
			return fmt.Errorf("service %s has no replica %d: its StatefulSet %s/%s has %d", svc, o.Index, s.Namespace, s.Name, n)
		}
		return nil
	}
	for _, kind := range []struct {
		gvr  schema.GroupVersionResource
		name string
	}{{gvrDeployment, "Deployment"}, {gvrJob, "Job"}} {
		list, err := c.dyn.Resource(kind.gvr).Namespace(metav1.NamespaceAll).List(ctx, lo)
		if err != nil {
			return fmt.Errorf("list %s of service %s: %w", kind.gvr.Resource, svc, err)
		}
		if len(list.Items) > 0 {
			return fmt.Errorf("service %s runs as a %s on the cluster, whose pods have no stable replica number (a replaced pod gets another name and number): there is no replica %d to pick; show all of the service's logs, or a StatefulSet's (a service with a named volume) by --index", svc, kind.name, o.Index)
		}
	}
	return nil
}

// follower streams the containers of pods, each run once.
type follower struct {
	c   *Client
	o   LogOptions
	out func(LogLine)
	wg  sync.WaitGroup

	numbers *numbering
	mu      sync.Mutex // guards streamed
	// streamed is, per pod UID and container, the restart count of the
	// container run being (or last) streamed.
	streamed map[string]int32
}

// start streams each started container of p whose current run is not
// streamed yet.
func (f *follower) start(ctx context.Context, p *corev1.Pod) {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil && cs.State.Terminated == nil {
			continue
		}
		key := string(p.UID) + "/" + cs.Name
		f.mu.Lock()
		n, seen := f.streamed[key]
		if seen && n >= cs.RestartCount {
			f.mu.Unlock()
			continue
		}
		f.streamed[key] = cs.RestartCount
		f.mu.Unlock()
		// A restarted container's new run: all of it; else the tail.
		tail := f.o.Tail
		if seen {
			tail = -1
		}
		p, name := p.DeepCopy(), cs.Name
		f.wg.Go(func() {
			// A stream that fails (the pod went away) ends quietly:
			// following goes on with the others.
			_ = f.stream(ctx, p, name, tail, true)
		})
	}
}

// podLogs writes the logs of p's started containers, one after the other.
func (f *follower) podLogs(ctx context.Context, p *corev1.Pod, follow bool) error {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil && cs.State.Terminated == nil {
			continue
		}
		if err := f.stream(ctx, p, cs.Name, f.o.Tail, follow); err != nil {
			return err
		}
	}
	return nil
}

func (f *follower) stream(ctx context.Context, p *corev1.Pod, container string, tail int64, follow bool) error {
	plo := &corev1.PodLogOptions{Container: container, Follow: follow, Timestamps: true}
	if tail >= 0 {
		plo.TailLines = &tail
	}
	switch {
	case f.o.SinceSeconds > 0:
		plo.SinceSeconds = &f.o.SinceSeconds
	case !f.o.Since.IsZero():
		since := metav1.NewTime(f.o.Since.Truncate(time.Second))
		plo.SinceTime = &since
	}
	req, err := f.c.podLogs(p.Namespace, p.Name, plo)
	if err != nil {
		return err
	}
	rc, err := req.Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of pod %s/%s, container %s: %w", p.Namespace, p.Name, container, err)
	}
	defer rc.Close()
	source := f.numbers.source(p)
	if len(p.Spec.Containers) > 1 {
		source += "/" + container
	}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t, line := splitTimestamp(sc.Text())
		switch f.o.window(t) {
		case before:
			continue
		case after:
			if !follow {
				return nil // the lines are in time order: none comes back into the window
			}
			continue
		}
		f.out(LogLine{Source: source, Service: serviceOf(p.Labels), Pod: p.Name, Container: container, Time: t, Line: line})
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// inWindow, before and after place a line's time against LogOptions'
// Since and Until.
const (
	inWindow = iota
	before
	after
)

// window places t against o.Since (unless SinceSeconds, which the kubelet
// applied) and o.Until. A line whose time could not be read (zero) is
// shown: there is nothing to judge it by.
func (o *LogOptions) window(t time.Time) int {
	switch {
	case t.IsZero():
		return inWindow
	case o.SinceSeconds <= 0 && !o.Since.IsZero() && t.Before(o.Since):
		return before
	case !o.Until.IsZero() && t.After(o.Until):
		return after
	}
	return inWindow
}

// splitTimestamp parses the RFC 3339 time the kubelet puts before each
// line when asked (PodLogOptions.Timestamps).
func splitTimestamp(s string) (time.Time, string) {
	ts, rest, ok := strings.Cut(s, " ")
	if !ok {
		ts, rest = s, ""
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, s
	}
	return t, rest
}

// numbering gives each pod of a service a replica number for its prefix,
// as compose numbers containers: a StatefulSet's pod its ordinal plus
// one; another pod the lowest number no current pod of its service has,
// in the order pods are seen (creation order at first), so that a
// recreated pod takes the number of the one it replaces.
type numbering struct {
	mu    sync.Mutex // guards byPod, used
	byPod map[string]int
	used  map[string]map[int]bool // service: numbers in use
}

func newNumbering() *numbering {
	return &numbering{byPod: map[string]int{}, used: map[string]map[int]bool{}}
}

func (n *numbering) number(p *corev1.Pod) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := p.Namespace + "/" + p.Name
	if i, ok := n.byPod[key]; ok {
		return i
	}
	svc := serviceOf(p.Labels)
	if n.used[svc] == nil {
		n.used[svc] = map[int]bool{}
	}
	i := ordinal(p)
	if i == 0 {
		for i = 1; n.used[svc][i]; i++ {
		}
	}
	n.used[svc][i] = true
	n.byPod[key] = i
	return i
}

func (n *numbering) free(p *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := p.Namespace + "/" + p.Name
	if i, ok := n.byPod[key]; ok {
		delete(n.byPod, key)
		delete(n.used[serviceOf(p.Labels)], i)
	}
}

// source is the pod's prefix, "service-N".
func (n *numbering) source(p *corev1.Pod) string {
	return fmt.Sprintf("%s-%d", serviceOf(p.Labels), n.number(p))
}

// ordinal is a StatefulSet pod's ordinal plus one, else 0.
func ordinal(p *corev1.Pod) int {
	for _, o := range p.OwnerReferences {
		if o.Kind != "StatefulSet" {
			continue
		}
		i, err := strconv.Atoi(strings.TrimPrefix(p.Name, o.Name+"-"))
		if err == nil && i >= 0 {
			return i + 1
		}
	}
	return 0
}
