package scheduler

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/berth/berth/compose"
)

// Direction is the order of a graph walk.
type Direction int

const (
	// DependenciesFirst visits a service after the services it depends on (up).
	DependenciesFirst Direction = iota
	// DependentsFirst visits a service after the services that depend on it (down).
	DependentsFirst
)

// Graph is the dependency graph of a project's services: depends_on,
// network_mode "service:X" and volumes_from "X".
type Graph struct {
	// deps[s] are the services s depends on; dependents is the reverse.
	deps, dependents map[string][]string
}

// NewGraph builds the graph of the project's services and checks it: every
// referenced service must exist, and there must be no cycle.
func NewGraph(p *compose.Project) (*Graph, error) {
	g, err := newGraph(p)
	if err != nil {
		return nil, err
	}
	if cycle := g.findCycle(); cycle != nil {
		return nil, cycleError(cycle)
	}
	return g, nil
}

// cycleError is the error of a dependency cycle, given as a path that
// starts and ends with the same service.
func cycleError(cycle []string) error {
	return fmt.Errorf("dependency cycle: %s", strings.Join(cycle, " -> "))
}

// newGraph builds the graph of the project's services, checking that every
// referenced service exists but not that there is no cycle.
func newGraph(p *compose.Project) (*Graph, error) {
	g := &Graph{deps: map[string][]string{}, dependents: map[string][]string{}}
	known := map[string]bool{}
	for _, s := range p.Services {
		known[s.Name] = true
		g.deps[s.Name] = nil
	}
	disabled := map[string]bool{}
	for _, d := range p.DisabledServices {
		disabled[d] = true
	}
	for _, s := range p.Services {
		for _, ref := range serviceRefs(s) {
			if !known[ref.name] {
				if disabled[ref.name] && !ref.required {
					continue
				}
				if disabled[ref.name] {
					return nil, fmt.Errorf("service %q %s service %q, which is not enabled: enable its profile (--profile) or remove the reference", s.Name, ref.how, ref.name)
				}
				return nil, fmt.Errorf("service %q %s service %q, which is not defined", s.Name, ref.how, ref.name)
			}
			if !contains(g.deps[s.Name], ref.name) {
				g.deps[s.Name] = append(g.deps[s.Name], ref.name)
				g.dependents[ref.name] = append(g.dependents[ref.name], s.Name)
			}
		}
	}
	for _, m := range []map[string][]string{g.deps, g.dependents} {
		for k := range m {
			sort.Strings(m[k])
		}
	}
	return g, nil
}

type serviceRef struct {
	name     string
	how      string
	required bool
}

// serviceRefs are the services s needs to be created first.
func serviceRefs(s *compose.Service) []serviceRef {
	var refs []serviceRef
	for name, d := range s.DependsOn {
		refs = append(refs, serviceRef{name, "depends on", d.Required})
	}
	if name, ok := strings.CutPrefix(s.NetworkMode, "service:"); ok {
		refs = append(refs, serviceRef{name, "uses the network of", true})
	}
	for _, v := range s.VolumesFrom {
		if strings.HasPrefix(v, "container:") {
			continue
		}
		name, _, _ := strings.Cut(v, ":")
		refs = append(refs, serviceRef{name, "takes volumes from", true})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].name < refs[j].name })
	return refs
}

// findCycle returns a dependency cycle as a path that starts and ends with
// the same service, or nil.
func (g *Graph) findCycle() []string {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(string) []string
	visit = func(n string) []string {
		state[n] = onPath
		path = append(path, n)
		for _, d := range g.deps[n] {
			switch state[d] {
			case onPath:
				i := indexOf(path, d)
				return append(append([]string{}, path[i:]...), d)
			case unvisited:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, n := range g.Services() {
		if state[n] == unvisited {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

// Services returns every service of the graph, sorted.
func (g *Graph) Services() []string {
	names := make([]string, 0, len(g.deps))
	for n := range g.deps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Dependencies returns the services s depends on directly, sorted.
func (g *Graph) Dependencies(s string) []string { return g.deps[s] }

// byDepth sorts services by how many links of dependencies lie below each
// (the longest chain), then by name: an order the walk could take.
func (g *Graph) byDepth(services []string) []string {
	depth := map[string]int{}
	var of func(string) int
	of = func(n string) int {
		if d, ok := depth[n]; ok {
			return d
		}
		d := 0
		for _, dep := range g.deps[n] {
			d = max(d, of(dep)+1)
		}
		depth[n] = d
		return d
	}
	out := slices.Clone(services)
	sort.Slice(out, func(i, j int) bool {
		if di, dj := of(out[i]), of(out[j]); di != dj {
			return di < dj
		}
		return out[i] < out[j]
	})
	return out
}

// WithDependencies returns services plus everything they depend on, transitively, sorted.
func (g *Graph) WithDependencies(services []string) []string { return g.closure(services, g.deps) }

// WithDependents returns services plus everything that depends on them, transitively, sorted.
func (g *Graph) WithDependents(services []string) []string { return g.closure(services, g.dependents) }

func (g *Graph) closure(start []string, edges map[string][]string) []string {
	seen := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, m := range edges[n] {
			add(m)
		}
	}
	for _, s := range start {
		add(s)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SkippedError is the error of a service that was not visited because a
// service it waited for failed.
type SkippedError struct {
	Service, Because string
}

func (e *SkippedError) Error() string {
	return fmt.Sprintf("service %q skipped: %q failed", e.Service, e.Because)
}

// Walk calls fn for the services in only (all when nil) in the given
// direction. A service is visited as soon as the services it waits for are
// done, not when a whole level is; at most limit fn calls run at once
// (limit < 1: no limit). A service whose predecessor failed is not visited:
// its error is a *SkippedError. Walk returns every service's error, joined,
// in name order.
func (g *Graph) Walk(ctx context.Context, dir Direction, only []string, limit int, fn func(ctx context.Context, service string) error) error {
	preds := g.deps
	if dir == DependentsFirst {
		preds = g.dependents
	}
	selected := map[string]bool{}
	if only == nil {
		only = g.Services()
	}
	for _, s := range only {
		selected[s] = true
	}
	done := map[string]chan struct{}{}
	for s := range selected {
		done[s] = make(chan struct{})
	}
	var sem chan struct{}
	if limit > 0 {
		sem = make(chan struct{}, limit)
	}
	var (
		mu   sync.Mutex // guards errs
		errs = map[string]error{}
		wg   sync.WaitGroup
	)
	failedOf := func(s string) error {
		mu.Lock()
		defer mu.Unlock()
		return errs[s]
	}
	for s := range selected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[s])
			var err error
			for _, p := range preds[s] {
				if !selected[p] {
					continue
				}
				select {
				case <-done[p]:
				case <-ctx.Done():
					err = ctx.Err()
				}
				if err == nil && failedOf(p) != nil {
					err = &SkippedError{Service: s, Because: p}
				}
				if err != nil {
					break
				}
			}
			if err == nil {
				if sem != nil {
					select {
					case sem <- struct{}{}:
						err = fn(ctx, s)
						<-sem
					case <-ctx.Done():
						err = ctx.Err()
					}
				} else {
					err = fn(ctx, s)
				}
			}
			if err != nil {
				mu.Lock()
				errs[s] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return joinSorted(errs)
}

// joinSorted joins errors in key order, skipped services last.
func joinSorted(errs map[string]error) error {
	if len(errs) == 0 {
		return nil
	}
	var failed, skipped []string
	for k, err := range errs {
		if _, ok := err.(*SkippedError); ok {
			skipped = append(skipped, k)
		} else {
			failed = append(failed, k)
		}
	}
	sort.Strings(failed)
	sort.Strings(skipped)
	var msgs []string
	var first error
	for _, k := range append(failed, skipped...) {
		if first == nil {
			first = errs[k]
		}
		msgs = append(msgs, errs[k].Error())
	}
	if len(msgs) == 1 {
		return first
	}
	return &WalkError{Errs: errs, msg: strings.Join(msgs, "\n")}
}

// WalkError holds the errors of several services.
type WalkError struct {
	Errs map[string]error
	msg  string
}

func (e *WalkError) Error() string { return e.msg }

// Unwrap returns the services' errors in name order, so that errors.As
// finds, say, the ConditionError of a failed dependency.
func (e *WalkError) Unwrap() []error {
	keys := make([]string, 0, len(e.Errs))
	for k := range e.Errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	errs := make([]error, 0, len(keys))
	for _, k := range keys {
		errs = append(errs, e.Errs[k])
	}
	return errs
}

func contains(s []string, v string) bool { return indexOf(s, v) >= 0 }

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
