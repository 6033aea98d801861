package build

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// CheckWarning is one finding of Check: a rule of BuildKit's Dockerfile
// checks broken at a line.
type CheckWarning struct {
	Path, Rule, Message, URL string
	Line                     int
}

func (w CheckWarning) String() string {
	s := fmt.Sprintf("%s:%d: %s: %s", w.Path, w.Line, w.Rule, w.Message)
	if w.URL != "" {
		s += " (" + w.URL + ")"
	}
	return s
}

// Check runs BuildKit's Dockerfile checks (docker build --check) on the
// Dockerfile a request builds, without building: the rules its parser and
// instruction reader apply (keyword casing, JSON form for CMD and
// ENTRYPOINT, deprecated MAINTAINER, legacy ENV forms, empty
// continuation lines, ...). An error is a Dockerfile that does not parse.
func (r Request) Check() ([]CheckWarning, error) {
	path, content := "dockerfile_inline", []byte(r.Inline)
	if r.Inline == "" {
		path = r.Dockerfile
		if path == "" {
			path = "Dockerfile"
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(r.ContextDir, path)
		}
		var err error
		if content, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read Dockerfile: %w", err)
		}
	}
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return nil, located(path, err)
	}
	var found []CheckWarning
	for _, w := range res.Warnings {
		cw := CheckWarning{Path: path, Rule: "NoEmptyContinuation", Message: w.Short, URL: w.URL}
		if w.Location != nil {
			cw.Line = w.Location.Start.Line
		}
		found = append(found, cw)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, url, msg string, loc []parser.Range) {
		cw := CheckWarning{Path: path, Rule: rule, Message: msg, URL: url}
		if len(loc) > 0 {
			cw.Line = loc[0].Start.Line
		}
		found = append(found, cw)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, located(path, err)
	}
	for _, st := range stages {
		checkStage(st, lint)
	}
	return found, nil
}

// checkStage applies the rules BuildKit checks while it converts a stage
// (its dockerfile2llb, which berth does not use), with BuildKit's own rule
// definitions: ENV and LABEL in the legacy "key value" form, CMD and
// ENTRYPOINT in shell form with no SHELL set, a first WORKDIR that is
// relative, and CMD, ENTRYPOINT or HEALTHCHECK given more than once.
func checkStage(st instructions.Stage, lint *linter.Linter) {
	shell, workdir := false, false
	// The earlier of two is reported, as BuildKit does: it is the one
	// that is ignored.
	seen := map[string][]parser.Range{}
	once := func(c instructions.Command) {
		name := c.Name()
		if loc, ok := seen[name]; ok {
			lint.Run(&linter.RuleMultipleInstructionsDisallowed, loc, linter.RuleMultipleInstructionsDisallowed.Format(name))
		}
		seen[name] = c.Location()
	}
	legacy := func(c instructions.Command, noDelim bool) {
		if noDelim {
			lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
		}
	}
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.ShellCommand:
			shell = true
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				legacy(c, kv.NoDelim)
			}
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				legacy(c, kv.NoDelim)
			}
		case *instructions.CmdCommand:
			once(c)
			if c.PrependShell && !shell {
				lint.Run(&linter.RuleJSONArgsRecommended, c.Location(), linter.RuleJSONArgsRecommended.Format(c.Name()))
			}
		case *instructions.EntrypointCommand:
			once(c)
			if c.PrependShell && !shell {
				lint.Run(&linter.RuleJSONArgsRecommended, c.Location(), linter.RuleJSONArgsRecommended.Format(c.Name()))
			}
		case *instructions.HealthCheckCommand:
			once(c)
		case *instructions.WorkdirCommand:
			if !workdir && !filepath.IsAbs(c.Path) {
				lint.Run(&linter.RuleWorkdirRelativePath, c.Location(), linter.RuleWorkdirRelativePath.Format(c.Path))
			}
			workdir = true
		}
	}
}
