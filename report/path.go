package report

import (
	"time"

	"github.com/berth/berth/compose"
)

// criticalPath is the chain of steps that decided how long the bring-up
// took. It ends with the service that was ready last (or that failed);
// before it comes the dependency whose wait ended last, and so on back to
// a service that waited on nothing. The links are contiguous from up's
// start to its end, so their durations add up to the total: a wait link
// lasts from the dependency's readiness to the moment the waiter saw it.
func (a *assembly) criticalPath(f *Failure) []Link {
	chain := a.chain(f)
	if len(chain) == 0 {
		return []Link{}
	}
	p := pathBuilder{in: a.in, at: a.in.Start, links: []Link{}}
	for i, name := range chain {
		c := a.decidingContainer(name, f)
		if i == 0 {
			from := c.creating
			if from.IsZero() {
				from = c.created
			}
			p.add(Link{Step: "setup"}, from)
			p.add(Link{Service: name, Step: "create"}, c.created)
		} else {
			w := a.waitOn(name, chain[i-1])
			end := a.waitsEnd(name)
			p.add(Link{Service: name, Step: "wait", Dependency: w.dep, Condition: w.cond}, end)
			if c.created.After(end) {
				p.add(Link{Service: name, Step: "create"}, c.created)
			}
		}
		p.add(Link{Service: name, Step: "start"}, c.started)
		if f != nil && i == len(chain)-1 {
			p.add(Link{Service: name, Step: "failed", Condition: f.Condition}, f.At.Time)
			continue
		}
		switch cond := a.condition(name); cond {
		case compose.ConditionHealthy:
			p.add(Link{Service: name, Step: "healthy", Condition: cond}, c.healthyAt())
		case compose.ConditionCompletedSuccessfully:
			if c.listed != nil {
				p.add(Link{Service: name, Step: "completed", Condition: cond}, c.listed.FinishedAt)
			}
		}
	}
	p.add(Link{Step: "finish"}, a.in.End)
	return p.links
}

// chain is the services of the critical path, first first.
func (a *assembly) chain(f *Failure) []string {
	last := ""
	if f != nil {
		last = f.Service
	} else {
		var latest time.Time
		for _, name := range sortedKeys(a.services) {
			if len(a.services[name].containers) == 0 {
				continue
			}
			if t := a.readyAt(name, a.condition(name)); last == "" || t.After(latest) {
				last, latest = name, t
			}
		}
	}
	if last == "" {
		return nil
	}
	chain := []string{last}
	seen := map[string]bool{last: true}
	for {
		// The dependency ready last decided when the waits ended: a
		// service waits for its dependencies one after the other, so the
		// wait that ended last may be on one long ready.
		var pred *wait
		var predReady time.Time
		for _, w := range a.services[chain[0]].waits {
			if w.to.IsZero() || seen[w.dep] || a.services[w.dep] == nil || len(a.services[w.dep].containers) == 0 {
				continue
			}
			r := a.readyAt(w.dep, w.cond)
			if r.IsZero() || r.After(w.to) {
				r = w.to
			}
			if pred == nil || r.After(predReady) || (r.Equal(predReady) && w.to.After(pred.to)) {
				pred, predReady = w, r
			}
		}
		if pred == nil {
			return chain
		}
		seen[pred.dep] = true
		chain = append([]string{pred.dep}, chain...)
	}
}

// waitsEnd is when service stopped waiting for its dependencies.
func (a *assembly) waitsEnd(service string) time.Time {
	var end time.Time
	for _, w := range a.services[service].waits {
		if w.to.After(end) {
			end = w.to
		}
	}
	return end
}

// waitOn is service's wait on dep.
func (a *assembly) waitOn(service, dep string) *wait {
	for _, w := range a.services[service].waits {
		if w.dep == dep {
			return w
		}
	}
	return &wait{dep: dep}
}

// decidingContainer is the container of service that decided its
// readiness: the failed one, else the one started last.
func (a *assembly) decidingContainer(service string, f *Failure) *ctimes {
	if f != nil && f.Service == service && f.Container != "" {
		return a.containers[f.Container]
	}
	var out *ctimes
	for _, name := range a.services[service].containers {
		c := a.containers[name]
		if out == nil || c.started.After(out.started) {
			out = c
		}
	}
	if out == nil {
		return &ctimes{}
	}
	return out
}

// pathBuilder lays links end to end.
type pathBuilder struct {
	in    *Input
	at    time.Time
	links []Link
}

// add appends l, from the end of the last link to 'to'; nothing when to
// is unknown. A step seen ending before the last one (clocks of another
// process) is taken to end with it.
func (p *pathBuilder) add(l Link, to time.Time) {
	if to.IsZero() {
		return
	}
	if to.Before(p.at) {
		to = p.at
	}
	l.From, l.To = *p.in.stamp(p.at), *p.in.stamp(to)
	l.DurationMs = ms(to.Sub(p.at))
	l.What = what(l.Service, l.Step, l.Dependency, l.Condition)
	p.links = append(p.links, l)
	p.at = to
}
