package main

import (
	"strings"
	"testing"
)

func TestCheckReportFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    upOptions
		wantErr string
	}{
		{"report with wait", upOptions{wait: true, report: "-"}, ""},
		{"summary with wait", upOptions{wait: true, summary: true}, ""},
		{"neither", upOptions{}, ""},
		{"report without wait", upOptions{report: "r.json"}, "--report and --summary need --wait"},
		{"summary without wait", upOptions{detach: true, summary: true}, "--report and --summary need --wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkReportFlags(tc.opts)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("checkReportFlags(%+v) = %v, want %q", tc.opts, err, tc.wantErr)
			}
		})
	}
}
