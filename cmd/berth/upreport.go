package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/report"
	"github.com/berth/berth/scheduler"
)

// reportLogLines is how many of a failed container's last log lines the
// readiness report keeps.
const reportLogLines = 20

// upReport records a bring-up for up --wait --report/--summary and
// writes the report at its end, failed or not.
type upReport struct {
	path    string // "" none, "-" standard output
	summary bool
	start   time.Time
	rec     *report.Recorder
}

// checkReportFlags refuses --report and --summary without --wait: without
// it up does not wait for readiness, so there would be nothing to report
// but creations and starts. A dry run brings nothing up to report on.
func checkReportFlags(opts upOptions, dryRun bool) error {
	switch {
	case opts.report == "" && !opts.summary:
	case !opts.wait:
		return errors.New("--report and --summary need --wait: the report times the bring-up until the services are ready (add --wait)")
	case dryRun:
		return errors.New("--report and --summary cannot be used with --dry-run: a dry run brings nothing up to report on")
	}
	return nil
}

// newUpReport starts recording into progress when a report or summary is
// asked for; nil otherwise.
func newUpReport(opts upOptions, start time.Time, progress *progressWriter) *upReport {
	if opts.report == "" && !opts.summary {
		return nil
	}
	u := &upReport{path: opts.report, summary: opts.summary, start: start, rec: report.NewRecorder(scheduler.RealClock{})}
	progress.record = u.rec
	return u
}

// write assembles the report of up's end (upErr nil: ready) and writes it
// where asked. It runs even when up was interrupted.
func (u *upReport) write(cmd *cobra.Command, rt *containerd.Client, p *compose.Project, upErr error) error {
	if u == nil {
		return nil
	}
	end := time.Now()
	ctx := context.WithoutCancel(cmd.Context())
	all, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return fmt.Errorf("report: list containers of project %s: %w", p.Name, err)
	}
	r := report.Build(report.Input{Project: p.Name, Start: u.start, End: end, Entries: u.rec.Entries(),
		Containers: all, Logs: failedLogs(ctx, rt, all, upErr), Err: upErr})
	if u.path != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		b = append(b, '\n')
		if u.path == "-" {
			_, err = cmd.OutOrStdout().Write(b)
		} else {
			err = os.WriteFile(u.path, b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("write report %s: %w", u.path, err)
		}
	}
	if u.summary {
		return r.WriteSummary(cmd.ErrOrStderr())
	}
	return nil
}

// failedLogs are the last log lines of the containers a failed up
// blames, and of any that exited with an error or is unhealthy.
func failedLogs(ctx context.Context, rt *containerd.Client, all []scheduler.Container, upErr error) map[string][]string {
	if upErr == nil {
		return nil
	}
	culprits := scheduler.Culprits(upErr)
	out := map[string][]string{}
	for _, c := range all {
		h, _ := scheduler.HealthOf(c.Labels)
		failed := contains(culprits, c.Labels.Service()) || h.Status == scheduler.HealthUnhealthy ||
			(c.State == scheduler.StateExited && c.ExitCode != 0)
		if !failed || c.Labels.OneOff() {
			continue
		}
		var lines []string
		err := rt.Logs(ctx, []scheduler.Container{c}, containerd.LogOptions{Tail: reportLogLines}, func(e containerd.LogEntry) {
			lines = append(lines, strings.TrimRight(e.Line, "\r\n"))
		})
		if err == nil && len(lines) > 0 {
			out[c.Name] = lines
		}
	}
	return out
}

// reportFailed writes the report of a failed up; a report that cannot be
// written is said on standard error, after which up fails as it would.
func reportFailed(cmd *cobra.Command, u *upReport, rt *containerd.Client, p *compose.Project, upErr error) {
	if err := u.write(cmd, rt, p, upErr); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), err)
	}
}

// buildOut is where up shows the builds' output: standard output, unless
// the report goes there (--report -), which must stay one JSON document.
func (o upOptions) buildOut(cmd *cobra.Command) io.Writer {
	if o.report == "-" {
		return cmd.ErrOrStderr()
	}
	return cmd.OutOrStdout()
}
