package report

import (
	"fmt"
	"io"
	"strings"
)

// WriteSummary writes the report for people: the outcome and total, the
// critical path a step a line, the pulls and builds, and what failed with
// its last probes and log lines.
func (r *Report) WriteSummary(w io.Writer) error {
	var b strings.Builder
	if r.Status == "failed" {
		fmt.Fprintf(&b, "Project %s failed after %s\n", r.Project, dur(r.DurationMs))
	} else {
		fmt.Fprintf(&b, "Project %s ready in %s\n", r.Project, dur(r.DurationMs))
	}
	if len(r.CriticalPath) > 0 {
		b.WriteString("Critical path:\n")
		for _, l := range r.CriticalPath {
			fmt.Fprintf(&b, "  %9s  %9s  %s\n", "+"+dur(l.From.OffsetMs), dur(l.DurationMs), l.What)
		}
	}
	for _, t := range r.Pulls {
		fmt.Fprintf(&b, "Pulled %s in %s%s\n", t.Image, dur(t.DurationMs), errSuffix(t.Error))
	}
	for _, t := range r.Builds {
		fmt.Fprintf(&b, "Built %s in %s%s\n", t.Service, dur(t.DurationMs), errSuffix(t.Error))
	}
	if f := r.Failure; f != nil {
		fmt.Fprintf(&b, "Failed: service %s", f.Service)
		if f.Condition != "" {
			fmt.Fprintf(&b, " (%s)", f.Condition)
		}
		fmt.Fprintf(&b, ": %s\n", f.Reason)
		if f.ExitCode != nil {
			fmt.Fprintf(&b, "  container %s exited with code %d\n", f.Container, *f.ExitCode)
		}
		for _, p := range f.Probes {
			fmt.Fprintf(&b, "  probe at +%s: exit %d: %s\n", dur(p.Start.OffsetMs), p.ExitCode, oneLine(p.Output))
		}
		if len(f.Logs) > 0 {
			fmt.Fprintf(&b, "  last %d log lines of %s:\n", len(f.Logs), f.Container)
			for _, l := range f.Logs {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func errSuffix(err string) string {
	if err == "" {
		return ""
	}
	return " (failed: " + err + ")"
}

// dur words a duration in milliseconds: "850ms", "2.31s".
func dur(ms float64) string {
	if ms < 1000 && ms > -1000 {
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.2fs", ms/1000)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
