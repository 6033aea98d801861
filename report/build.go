package report

import (
	"sort"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// span is a step's begin and end; zero when not seen.
type span struct {
	from, to time.Time
	err      string
}

// ctimes are what the entries say of a container.
type ctimes struct {
	service           string
	creating, created time.Time
	starting, started time.Time
	err               string
	probes            map[time.Time]scheduler.ProbeResult
	health            scheduler.HealthStatus
	listed            *scheduler.Container
}

type wait struct {
	dep  string
	cond compose.DependencyCondition
	span
}

// stimes are what the entries say of a service.
type stimes struct {
	waits      []*wait
	ready      time.Time
	cond       compose.DependencyCondition
	readyErr   string
	failedAt   time.Time
	containers []string
}

// assembly is the state of Build.
type assembly struct {
	in         *Input
	containers map[string]*ctimes
	services   map[string]*stimes
	pulls      map[string]*span
	pullOrder  []string
	builds     map[string]*span
	buildOrder []string
}

func (a *assembly) container(name string) *ctimes {
	c := a.containers[name]
	if c == nil {
		c = &ctimes{probes: map[time.Time]scheduler.ProbeResult{}}
		a.containers[name] = c
	}
	return c
}

func (a *assembly) service(name string) *stimes {
	s := a.services[name]
	if s == nil {
		s = &stimes{}
		a.services[name] = s
	}
	return s
}

// Build assembles the report of a bring-up from its entries and the final
// listing of its containers. It is a pure function of in.
func Build(in Input) *Report {
	a := &assembly{in: &in, containers: map[string]*ctimes{}, services: map[string]*stimes{},
		pulls: map[string]*span{}, builds: map[string]*span{}}
	entries := append([]Entry(nil), in.Entries...)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].At.Before(entries[j].At) })
	for _, e := range entries {
		if e.Event != nil {
			a.event(e.At, *e.Event)
		}
		if e.Mark != nil {
			a.mark(e.At, *e.Mark)
		}
	}
	for i := range in.Containers {
		c := &in.Containers[i]
		if c.Labels.OneOff() {
			continue
		}
		ct := a.container(c.Name)
		ct.listed = c
		ct.service = c.Labels.Service()
		if h, ok := scheduler.HealthOf(c.Labels); ok {
			ct.addHealth(h)
		}
		if ct.created.IsZero() {
			ct.created = c.Created
		}
		if ct.started.IsZero() {
			ct.started = c.StartedAt
		}
	}
	for _, name := range sortedKeys(a.containers) {
		if svc := a.containers[name].service; svc != "" {
			s := a.service(svc)
			s.containers = append(s.containers, name)
		}
	}
	r := &Report{Version: Version, Project: in.Project, Status: "ready", Started: in.Start, Finished: in.End,
		DurationMs: ms(in.End.Sub(in.Start)), Pulls: []Transfer{}, Builds: []Transfer{}, Services: []Service{}, CriticalPath: []Link{}}
	for _, ref := range a.pullOrder {
		p := a.pulls[ref]
		r.Pulls = append(r.Pulls, a.transfer(p, Transfer{Image: ref}))
	}
	for _, svc := range a.buildOrder {
		r.Builds = append(r.Builds, a.transfer(a.builds[svc], Transfer{Service: svc}))
	}
	if in.Err != nil {
		r.Status = "failed"
		r.Error = in.Err.Error()
		r.Failure = a.failure()
	}
	for _, name := range sortedKeys(a.services) {
		r.Services = append(r.Services, a.serviceReport(name, r.Failure))
	}
	r.CriticalPath = a.criticalPath(r.Failure)
	return r
}

func (a *assembly) transfer(p *span, t Transfer) Transfer {
	t.From, t.To, t.Error = a.in.stamp(p.from), a.in.stamp(p.to), p.err
	if !p.from.IsZero() && !p.to.IsZero() {
		t.DurationMs = ms(p.to.Sub(p.from))
	}
	return t
}

func (c *ctimes) addHealth(h scheduler.Health) {
	for _, r := range h.Log {
		c.probes[r.Start] = r
	}
	c.health = h.Status
}

// event reads the progress events that time containers and pulls.
func (a *assembly) event(at time.Time, e scheduler.Event) {
	switch e.Kind {
	case scheduler.KindContainer:
		c := a.container(e.Name)
		switch e.Text {
		case "Creating":
			c.creating = at
		case "Created":
			if !c.creating.IsZero() {
				c.created = at
			}
		case "Starting":
			c.starting = at
		case "Started":
			c.started = at
		case "Error":
			if e.Status == scheduler.StatusError && c.err == "" {
				c.err = e.Detail
				if c.err == "" {
					c.err = "error"
				}
			}
		}
	case scheduler.KindImage:
		switch {
		case e.Text == "Pulling":
			if a.pulls[e.Name] == nil {
				a.pullOrder = append(a.pullOrder, e.Name)
			}
			a.pulls[e.Name] = &span{from: at}
		case a.pulls[e.Name] == nil:
		case e.Status == scheduler.StatusDone:
			a.pulls[e.Name].to = at
		case e.Status == scheduler.StatusError:
			a.pulls[e.Name].to, a.pulls[e.Name].err = at, e.Detail
		}
	}
}

// mark reads the timing marks: waits, readiness, builds and health.
func (a *assembly) mark(at time.Time, m scheduler.Mark) {
	switch m.Kind {
	case scheduler.MarkWaitBegin:
		s := a.service(m.Service)
		s.waits = append(s.waits, &wait{dep: m.Dependency, cond: m.Condition, span: span{from: at}})
	case scheduler.MarkWaitEnd:
		s := a.service(m.Service)
		for i := len(s.waits) - 1; i >= 0; i-- {
			if w := s.waits[i]; w.dep == m.Dependency && w.to.IsZero() {
				w.to, w.err = at, m.Err
				break
			}
		}
	case scheduler.MarkReady:
		s := a.service(m.Service)
		s.cond = m.Condition
		if m.Err != "" {
			s.readyErr, s.failedAt = m.Err, at
		} else if s.ready.IsZero() {
			s.ready = at
		}
	case scheduler.MarkBuildBegin:
		if a.builds[m.Service] == nil {
			a.buildOrder = append(a.buildOrder, m.Service)
		}
		a.builds[m.Service] = &span{from: at}
	case scheduler.MarkBuildEnd:
		if b := a.builds[m.Service]; b != nil {
			b.to, b.err = at, m.Err
		}
	case scheduler.MarkHealth:
		c := a.container(m.Container)
		if c.service == "" {
			c.service = m.Service
		}
		if m.Health != nil {
			c.addHealth(*m.Health)
		}
	}
}

// probes are a container's probes since its start, in order.
func (c *ctimes) sortedProbes() []scheduler.ProbeResult {
	// Probes of an earlier container of the same name are left out. Its
	// creation is the bound, not its start: the first probe may begin
	// before the start is recorded.
	since := c.created
	out := make([]scheduler.ProbeResult, 0, len(c.probes))
	for _, r := range c.probes {
		if r.Start.Before(since) {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// healthyAt is when the container's first passing probe ended.
func (c *ctimes) healthyAt() time.Time {
	for _, r := range c.sortedProbes() {
		if r.ExitCode == 0 {
			return r.End
		}
	}
	return time.Time{}
}

// readyAt is when the service met cond: its last container's.
func (a *assembly) readyAt(name string, cond compose.DependencyCondition) time.Time {
	s := a.service(name)
	var at time.Time
	for _, cn := range s.containers {
		c := a.containers[cn]
		var t time.Time
		switch cond {
		case compose.ConditionHealthy:
			t = c.healthyAt()
		case compose.ConditionCompletedSuccessfully:
			if c.listed != nil {
				t = c.listed.FinishedAt
			}
		default:
			t = c.started
		}
		if t.IsZero() {
			return s.ready // fall back on up --wait's judgement
		}
		if t.After(at) {
			at = t
		}
	}
	if at.IsZero() {
		return s.ready
	}
	return at
}

// condition is what the service was waited for with: up --wait's, else
// its dependents'.
func (a *assembly) condition(name string) compose.DependencyCondition {
	if c := a.service(name).cond; c != "" {
		return c
	}
	for _, s := range a.services {
		for _, w := range s.waits {
			if w.dep == name && w.cond != compose.ConditionStarted {
				return w.cond
			}
		}
	}
	for _, cn := range a.service(name).containers {
		if len(a.containers[cn].probes) > 0 {
			return compose.ConditionHealthy
		}
	}
	return compose.ConditionStarted
}

// failure is what made up fail: a failed readiness judgement of up --wait,
// else a failed dependency wait, else a container's error.
func (a *assembly) failure() *Failure {
	f := &Failure{Reason: a.in.Err.Error(), Details: scheduler.Details(a.in.Err)}
	for _, name := range sortedKeys(a.services) {
		s := a.services[name]
		if s.readyErr != "" && (f.At == nil || s.failedAt.Before(f.At.Time)) {
			f.Service, f.Condition, f.Reason, f.At = name, s.cond, s.readyErr, a.in.stamp(s.failedAt)
		}
	}
	if f.Service == "" {
		for _, name := range sortedKeys(a.services) {
			for _, w := range a.services[name].waits {
				if w.err != "" && (f.At == nil || w.to.Before(f.At.Time)) {
					f.Service, f.Condition, f.Waiter, f.Reason, f.At = w.dep, w.cond, name, w.err, a.in.stamp(w.to)
				}
			}
		}
	}
	if f.Service == "" {
		if culprits := scheduler.Culprits(a.in.Err); len(culprits) > 0 {
			f.Service = culprits[0]
		}
	}
	if f.Service == "" {
		for _, name := range sortedKeys(a.containers) {
			if c := a.containers[name]; c.err != "" {
				f.Service, f.Container = c.service, name
				break
			}
		}
	}
	if f.Container == "" {
		f.Container = a.culpritContainer(f.Service)
	}
	if c := a.containers[f.Container]; c != nil {
		if c.listed != nil && c.listed.State == scheduler.StateExited {
			code := c.listed.ExitCode
			f.ExitCode = &code
		}
		probes := c.sortedProbes()
		if n := len(probes); n > 5 {
			probes = probes[n-5:]
		}
		f.Probes = a.in.probesOf(probes)
		f.Logs = a.in.Logs[f.Container]
	}
	if f.At == nil {
		f.At = a.in.stamp(a.in.End)
	}
	return f
}

// culpritContainer is the container of service to blame: an unhealthy
// one, else one that exited, else one that failed, else the first.
func (a *assembly) culpritContainer(service string) string {
	cs := a.service(service).containers
	for _, test := range []func(*ctimes) bool{
		func(c *ctimes) bool { return c.health == scheduler.HealthUnhealthy },
		func(c *ctimes) bool { return c.listed != nil && c.listed.State == scheduler.StateExited },
		func(c *ctimes) bool { return c.err != "" },
		func(*ctimes) bool { return true },
	} {
		for _, name := range cs {
			if test(a.containers[name]) {
				return name
			}
		}
	}
	return ""
}

func (a *assembly) serviceReport(name string, f *Failure) Service {
	s := a.services[name]
	cond := a.condition(name)
	out := Service{Name: name, Status: "not ready", Condition: cond, Waits: []Wait{}, Containers: []Container{}}
	switch {
	case s.readyErr != "":
		out.Status, out.Error = "failed", s.readyErr
	case f != nil && f.Service == name:
		out.Status, out.Error = "failed", f.Reason
	case a.in.Err == nil || !s.ready.IsZero():
		if t := a.readyAt(name, cond); !t.IsZero() {
			out.Status, out.Ready = "ready", a.in.stamp(t)
		}
	}
	for _, w := range s.waits {
		ow := Wait{Dependency: w.dep, Condition: w.cond, From: a.in.stamp(w.from), To: a.in.stamp(w.to), Error: w.err}
		if !w.to.IsZero() {
			ow.DurationMs = ms(w.to.Sub(w.from))
		}
		out.Waits = append(out.Waits, ow)
	}
	for _, cn := range s.containers {
		c := a.containers[cn]
		oc := Container{Name: cn, Created: a.in.stamp(c.created), Started: a.in.stamp(c.started), Error: c.err,
			Health: string(c.health), Logs: a.in.Logs[cn]}
		if c.listed != nil {
			oc.State = string(c.listed.State)
			if c.listed.State == scheduler.StateExited {
				code := c.listed.ExitCode
				oc.ExitCode = &code
			}
		}
		probes := c.sortedProbes()
		if len(probes) > 0 {
			oc.FirstProbe = a.in.stamp(probes[0].Start)
		}
		oc.Healthy = a.in.stamp(c.healthyAt())
		oc.Probes = a.in.probesOf(probes)
		out.Containers = append(out.Containers, oc)
	}
	return out
}

var stepWords = map[string]string{
	"create":    "created",
	"start":     "started",
	"healthy":   "became healthy",
	"completed": "completed",
}

// what words a link for people.
func what(service, step string, dep string, cond compose.DependencyCondition) string {
	switch step {
	case "setup":
		return "up: load, images, networks and volumes"
	case "wait":
		return service + " waited for " + dep + " (" + string(cond) + ")"
	case "finish":
		return "up --wait returned"
	case "failed":
		if cond != "" {
			return service + " failed (" + string(cond) + ")"
		}
		return service + " failed"
	}
	return service + " " + stepWords[step]
}
