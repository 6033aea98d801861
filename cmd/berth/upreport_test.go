package main

import (
	"os"
	"path/filepath"
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

func TestReportFile(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte("an earlier, longer report\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		write   string // "" nothing written
		wantErr string
		want    string // the file's content after close; "-" none
	}{
		{"missing directory", filepath.Join(dir, "nope", "r.json"), "", "--report: open " + filepath.Join(dir, "nope", "r.json"), "-"},
		{"a directory", dir, "", "is a directory", ""},
		{"new, written", filepath.Join(dir, "new.json"), "{}\n", "", "{}\n"},
		{"new, never written", filepath.Join(dir, "unused.json"), "", "", "-"},
		{"existing, rewritten", old, "{}\n", "", "{}\n"},
		{"existing, kept when unwritten", filepath.Join(dir, "keep.json"), "", "", "kept\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "kept\n" {
				if err := os.WriteFile(tc.path, []byte(tc.want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := openReportFile(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("openReportFile(%s) = %v, want an error with %q", tc.path, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.write != "" {
				if err := f.write([]byte(tc.write)); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(tc.path)
			switch {
			case tc.want == "-" && !os.IsNotExist(err):
				t.Errorf("%s exists after close (%v), want it removed", tc.path, err)
			case tc.want != "-" && string(b) != tc.want:
				t.Errorf("%s holds %q (%v), want %q", tc.path, b, err, tc.want)
			}
		})
	}
	for _, p := range []string{"", "-"} {
		if f, err := openReportFile(p); f != nil || err != nil {
			t.Errorf("openReportFile(%q) = %v, %v; want nil, nil", p, f, err)
		}
	}
}
