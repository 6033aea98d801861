package main

import (
	"strings"
	"testing"
)

func TestCheckReportFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    upOptions
		dryRun  bool
		wantErr string
	}{
		{"report with wait", upOptions{wait: true, report: "-"}, false, ""},
		{"summary with wait", upOptions{wait: true, summary: true}, false, ""},
		{"neither", upOptions{}, false, ""},
		{"dry run without report", upOptions{wait: true}, true, ""},
		{"dry run", upOptions{wait: true, report: "-"}, true, "cannot be used with --dry-run"},
		{"report without wait", upOptions{report: "r.json"}, false, "--report and --summary need --wait"},
		{"summary without wait", upOptions{detach: true, summary: true}, false, "--report and --summary need --wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkReportFlags(tc.opts, tc.dryRun)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("checkReportFlags(%+v, %v) = %v, want %q", tc.opts, tc.dryRun, err, tc.wantErr)
			}
		})
	}
}
