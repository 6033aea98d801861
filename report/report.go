package report

import (
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// Version is the version of the report's JSON schema (docs/report.md).
const Version = 1

// Report is the readiness report of one up --wait. Its JSON is the schema
// documented in docs/report.md; fields are only ever added.
type Report struct {
	Version    int       `json:"version"`
	Project    string    `json:"project"`
	Status     string    `json:"status"` // "ready" or "failed"
	Error      string    `json:"error,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	DurationMs float64   `json:"durationMs"`
	// Failure says what failed and why, when Status is "failed".
	Failure      *Failure   `json:"failure,omitempty"`
	Pulls        []Transfer `json:"pulls"`
	Builds       []Transfer `json:"builds"`
	Services     []Service  `json:"services"`
	CriticalPath []Link     `json:"criticalPath"`
}

// Stamp is a moment: its time and its offset from the start of up.
type Stamp struct {
	Time     time.Time `json:"time"`
	OffsetMs float64   `json:"offsetMs"`
}

// Transfer is a pull (Image) or a build (Service) with its duration.
type Transfer struct {
	Image      string  `json:"image,omitempty"`
	Service    string  `json:"service,omitempty"`
	From       *Stamp  `json:"from,omitempty"`
	To         *Stamp  `json:"to,omitempty"`
	DurationMs float64 `json:"durationMs"`
	Error      string  `json:"error,omitempty"`
}

// Service is a service's bring-up: its waits and its containers.
type Service struct {
	Name string `json:"name"`
	// Status is "ready", "failed" or "not ready" (up stopped first).
	Status string `json:"status"`
	// Condition is what up --wait waited for (service_healthy,
	// service_started, service_completed_successfully).
	Condition  compose.DependencyCondition `json:"condition,omitempty"`
	Ready      *Stamp                      `json:"ready,omitempty"`
	Error      string                      `json:"error,omitempty"`
	Waits      []Wait                      `json:"waits"`
	Containers []Container                 `json:"containers"`
}

// Wait is a service waiting for a dependency's condition before it
// starts.
type Wait struct {
	Dependency string                      `json:"dependency"`
	Condition  compose.DependencyCondition `json:"condition"`
	From       *Stamp                      `json:"from,omitempty"`
	To         *Stamp                      `json:"to,omitempty"`
	DurationMs float64                     `json:"durationMs"`
	Error      string                      `json:"error,omitempty"`
}

// Container is a container's bring-up.
type Container struct {
	Name       string  `json:"name"`
	Created    *Stamp  `json:"created,omitempty"`
	Started    *Stamp  `json:"started,omitempty"`
	FirstProbe *Stamp  `json:"firstProbe,omitempty"`
	Healthy    *Stamp  `json:"healthy,omitempty"`
	State      string  `json:"state,omitempty"`
	ExitCode   *int    `json:"exitCode,omitempty"`
	Health     string  `json:"health,omitempty"`
	Probes     []Probe `json:"probes,omitempty"`
	Error      string  `json:"error,omitempty"`
	// Logs are its last log lines, for a container that failed.
	Logs []string `json:"logs,omitempty"`
}

// Probe is one healthcheck run.
type Probe struct {
	Start    Stamp   `json:"start"`
	End      Stamp   `json:"end"`
	ExitCode int     `json:"exitCode"`
	Output   string  `json:"output"`
	Ms       float64 `json:"durationMs"`
}

// Failure is what made up --wait fail.
type Failure struct {
	Service   string                      `json:"service"`
	Container string                      `json:"container,omitempty"`
	Condition compose.DependencyCondition `json:"condition,omitempty"`
	// Waiter is the service whose wait on Service failed, if any.
	Waiter  string   `json:"waiter,omitempty"`
	Reason  string   `json:"reason"`
	Details []string `json:"details,omitempty"`
	// ExitCode is the container's, when it exited.
	ExitCode *int `json:"exitCode,omitempty"`
	// Probes are its last healthcheck runs, the last one last.
	Probes []Probe  `json:"probes,omitempty"`
	Logs   []string `json:"logs,omitempty"`
	At     *Stamp   `json:"at,omitempty"`
}

// Link is one step of the critical path. Links are contiguous: each one
// begins where the one before ended, so their durations add up to the
// report's.
type Link struct {
	Service string `json:"service,omitempty"`
	// Step is setup, create, wait, start, healthy, running, completed,
	// failed or finish.
	Step       string                      `json:"step"`
	Dependency string                      `json:"dependency,omitempty"`
	Condition  compose.DependencyCondition `json:"condition,omitempty"`
	What       string                      `json:"what"`
	From       Stamp                       `json:"from"`
	To         Stamp                       `json:"to"`
	DurationMs float64                     `json:"durationMs"`
}

// Input is what a report is built from.
type Input struct {
	Project string
	// Start and End frame the bring-up: up's start, and when it returned.
	Start, End time.Time
	Entries    []Entry
	// Containers are the project's containers as listed at the end (their
	// health logs, states, and times of those up did not create).
	Containers []scheduler.Container
	// Logs are the last log lines of containers, by name.
	Logs map[string][]string
	// Err is why up failed; nil when it succeeded.
	Err error
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (in *Input) stamp(t time.Time) *Stamp {
	if t.IsZero() {
		return nil
	}
	return &Stamp{Time: t, OffsetMs: ms(t.Sub(in.Start))}
}

// sortedKeys are m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// probesOf turns a health log into probes.
func (in *Input) probesOf(log []scheduler.ProbeResult) []Probe {
	out := make([]Probe, 0, len(log))
	for _, r := range log {
		out = append(out, Probe{Start: *in.stamp(r.Start), End: *in.stamp(r.End), ExitCode: r.ExitCode,
			Output: strings.TrimSpace(r.Output), Ms: ms(r.End.Sub(r.Start))})
	}
	return out
}
