package build

import (
	"regexp"
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// placeRE is how an error names its place in the Dockerfile: "Dockerfile:3:"
// or buildkit's "line 3".
var placeRE = regexp.MustCompile(`Dockerfile:\d+: |line \d+`)

// FuzzDockerfile: parsing a Dockerfile, planning its stages and applying
// its metadata instructions never panics, and every error names the line
// it is about.
func FuzzDockerfile(f *testing.F) {
	for _, seed := range []string{
		multiStage,
		"FROM busybox\nRUN echo hi\n",
		"ARG B\nFROM ${B}\n",
		"FROM busybox AS a\nFROM a AS b\nCOPY --from=b / /\n",
		"FROM busybox\nCOPY --from=1 /x /x\n",
		"FROM busybox\nENV A=1 B=${A:?unset}\nWORKDIR ${C:-/w}\nUSER ${A}\n",
		"FROM busybox\nEXPOSE ${P}/udp\nLABEL a=b\nHEALTHCHECK --interval=1s CMD true\n",
		"FROM busybox\nRUN <<EOF\necho\nEOF\n",
		"FROM busybox\nONBUILD RUN true\nSTOPSIGNAL SIGKILL\nSHELL [\"/bin/sh\", \"-c\"]\n",
		"# syntax=docker/dockerfile:1\nFROM scratch\nADD --chmod=755 a.tar /\n",
		"FROM busybox\nRUN --mount=type=cache,target=/x true\n",
		"FROM busybox AS s\nFROM busybox\nRUN --mount=type=bind,from=s,target=/s --mount=type=tmpfs,target=t,size=1m true\n",
		"FROM busybox\nCOPY --parents --exclude=*.md a/./b /c/\nADD --checksum=sha256:00 https://x.invalid/y /y\n",
		"FROM busybox\\\n AS x\nCOPY \\\n a b\n",
	} {
		f.Add([]byte(seed), "", "")
	}
	f.Fuzz(func(t *testing.T, content []byte, target, arg string) {
		if len(content) > 4096 {
			return
		}
		df, err := ParseDockerfileBytes("Dockerfile", content)
		if err != nil {
			if !placeRE.MatchString(err.Error()) {
				t.Fatalf("ParseDockerfileBytes(%q) = %v: the error names no line", content, err)
			}
			return
		}
		args := map[string]string{"B": arg}
		plans, err := PlanStages(df, target, args)
		if err != nil {
			// --target names no stage: a command-line error, not a line's.
			if !placeRE.MatchString(err.Error()) && !strings.Contains(err.Error(), "to build as target") {
				t.Fatalf("PlanStages(%q, %q) = %v: the error names no line", content, target, err)
			}
			return
		}
		for _, p := range plans {
			st := NewStageState(dockerspec.DockerOCIImageConfig{}, args, nil)
			for _, cmd := range df.Stages[p.Index].Commands {
				// The builder names a step's errors by the step's line.
				if line(cmd) < 1 {
					t.Fatalf("%q: %s has no line", content, cmd.Name())
				}
				if _, err := st.ApplyMeta(cmd); err != nil && !placeRE.MatchString(err.Error()) {
					t.Fatalf("ApplyMeta(%q) = %v: the error names no line", content, err)
				}
			}
		}
	})
}
