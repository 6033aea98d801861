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
	file    *reportFile
	summary bool
	start   time.Time
	rec     *report.Recorder
}

// reportFile is --report's file, opened before anything is brought up so
// that a path up cannot write to fails up before it starts, not after.
type reportFile struct {
	f       *os.File
	created bool // made by this up: removed again when nothing was written
	written bool
}

// openReportFile opens path for the report without emptying it yet: a
// report of an earlier up stays until this one is written. Nil for none
// and for standard output.
func openReportFile(path string) (*reportFile, error) {
	if path == "" || path == "-" {
		return nil, nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--report: %w: name a file in an existing directory that berth can write to", err)
	}
	return &reportFile{f: f, created: errors.Is(statErr, os.ErrNotExist)}, nil
}

// write replaces the file's content with b.
func (r *reportFile) write(b []byte) error {
	r.written = true
	if err := r.f.Truncate(0); err != nil {
		return err
	}
	_, err := r.f.WriteAt(b, 0)
	return err
}

// close closes the file, and removes it when this up made it and wrote
// nothing into it (up failed before it began).
func (r *reportFile) close() error {
	if r == nil {
		return nil
	}
	err := r.f.Close()
	if r.created && !r.written {
		os.Remove(r.f.Name())
	}
	return err
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
// asked for; nil otherwise. file is --report's, from openReportFile.
func newUpReport(opts upOptions, file *reportFile, start time.Time, progress *progressWriter) *upReport {
	if opts.report == "" && !opts.summary {
		return nil
	}
	u := &upReport{path: opts.report, file: file, summary: opts.summary, start: start, rec: report.NewRecorder(scheduler.RealClock{})}
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
		if u.file == nil {
			_, err = cmd.OutOrStdout().Write(b)
		} else {
			err = u.file.write(b)
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
