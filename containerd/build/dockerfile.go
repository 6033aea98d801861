package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile: its stages and the ARGs before the
// first FROM.
type Dockerfile struct {
	Path     string
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
}

// ParseDockerfile reads and parses a Dockerfile with buildkit's parser and
// refuses, naming the file and line, the instruction flags berth's builder
// does not carry out yet: they must never be ignored silently.
func ParseDockerfile(path string) (*Dockerfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	return ParseDockerfileBytes(path, b)
}

// ParseDockerfileBytes parses a Dockerfile's content; path names it in
// errors.
func ParseDockerfileBytes(path string, b []byte) (*Dockerfile, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		// The parser's error has no line to name.
		return nil, fmt.Errorf("%s:1: the file is empty: a Dockerfile starts its first stage with FROM", path)
	}
	res, err := parser.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, located(path, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, located(path, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s:1: no FROM instruction: a Dockerfile starts its first stage with FROM", path)
	}
	for _, st := range stages {
		for _, cmd := range st.Commands {
			if c, ok := cmd.(*instructions.RunCommand); ok {
				// The parser reads --mount's values only when they are
				// expanded: as written here, with the stage's variables
				// when the step runs.
				if err := c.Expand(func(w string) (string, error) { return w, nil }); err != nil {
					return nil, fmt.Errorf("%s:%d: RUN --mount: %w", path, line(cmd), err)
				}
				// Relative targets are checked when the step runs, in
				// its working directory; the rest now.
				if _, err := fsMounts(c, ""); err != nil {
					return nil, fmt.Errorf("%s:%d: %w", path, line(cmd), err)
				}
			}
			if reason := unsupported(cmd); reason != "" {
				return nil, fmt.Errorf("%s:%d: %s is not supported by berth's builder yet", path, line(cmd), reason)
			}
		}
	}
	return &Dockerfile{Path: path, Stages: stages, MetaArgs: metaArgs}, nil
}

// located names the file and line of a parser error as "path:line: ":
// buildkit keeps the line beside the message, not in it.
func located(path string, err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, loc := range le.Locations {
			if len(loc) > 0 && loc[0].Start.Line > 0 {
				return fmt.Errorf("%s:%d: %w", path, loc[0].Start.Line, err)
			}
		}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// unsupported names a flag of cmd berth cannot carry out, or "".
func unsupported(cmd instructions.Command) string {
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		if m := unsupportedMount(c); m != "" {
			return m
		}
		if s := instructions.GetSecurity(c); s != "" && s != "sandbox" && s != instructions.SecurityInsecure {
			return "RUN --security=" + s
		}
		if st := getDevices(c); len(st) > 0 {
			return "RUN --device"
		}
	case *instructions.AddCommand:
		if c.KeepGitDir != nil {
			return "ADD --keep-git-dir"
		}
	}
	return ""
}

func line(cmd instructions.Command) int {
	if loc := cmd.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// StepKey is the cache key of a build step: the key of the step before it
// (or of the base image), the instruction with its arguments expanded, and
// for COPY and ADD the content hash of what they copy. Two steps with the
// same key produce the same layer, so the second is never run.
func StepKey(parent, instruction, contentHash string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", parent, instruction, contentHash)
	return hex.EncodeToString(h.Sum(nil))
}

// getDevices is RUN --device, which the parser records only when the
// labs syntax enables it.
func getDevices(c *instructions.RunCommand) (d []*instructions.Device) {
	defer func() {
		if recover() != nil {
			d = nil
		}
	}()
	return instructions.GetDevices(c)
}
