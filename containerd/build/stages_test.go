package build

import (
	"fmt"
	"strings"
	"testing"
)

func plansString(plans []StagePlan) string {
	var out []string
	for _, p := range plans {
		base := p.BaseImage
		if p.BaseStage >= 0 {
			base = fmt.Sprintf("stage %d", p.BaseStage)
		}
		out = append(out, fmt.Sprintf("%d %s from %s needs %v copies %v", p.Index, p.Name, base, p.Needs, p.CopyImages))
	}
	return strings.Join(out, "\n")
}

const multiStage = `ARG BASE=busybox
ARG UNUSED
FROM ${BASE} AS deps
RUN echo deps
FROM busybox AS unrelated
RUN echo nobody needs me
FROM deps AS build
COPY --from=0 /x /x
FROM scratch AS final
COPY --from=build /x /x
COPY --from=Deps /y /y
COPY --from=docker.io/library/alpine:3 /etc/alpine-release /
`

func TestPlanStages(t *testing.T) {
	df, err := ParseDockerfile(writeDockerfile(t, multiStage))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, target string
		args         map[string]string
		want         string
	}{
		{"last stage; unrelated left out", "", nil, `0 deps from busybox needs [] copies []
2 build from stage 0 needs [0] copies []
3 final from scratch needs [0 2] copies [docker.io/library/alpine:3]`},
		{"build arg in FROM", "deps", map[string]string{"BASE": "debian:bookworm-slim"}, `0 deps from debian:bookworm-slim needs [] copies []`},
		{"target by name, any case", "UNRELATED", nil, `1 unrelated from busybox needs [] copies []`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plans, err := PlanStages(df, tt.target, tt.args)
			if err != nil {
				t.Fatalf("PlanStages: %v", err)
			}
			if got := plansString(plans); got != tt.want {
				t.Errorf("PlanStages:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestPlanStagesRunMounts: the stages RUN --mount binds or seeds a cache
// from are built first; an image it names is listed, a tmpfs names none.
func TestPlanStagesRunMounts(t *testing.T) {
	df, err := ParseDockerfile(writeDockerfile(t, `FROM busybox AS tools
FROM busybox AS seed
FROM busybox AS unused
FROM busybox
RUN --mount=type=bind,from=tools,target=/t --mount=type=cache,target=/c,from=seed --mount=type=tmpfs,target=/x true
RUN --mount=from=docker.io/library/alpine:3,target=/a true
`))
	if err != nil {
		t.Fatal(err)
	}
	plans, err := PlanStages(df, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `0 tools from busybox needs [] copies []
1 seed from busybox needs [] copies []
3  from busybox needs [0 1] copies [docker.io/library/alpine:3]`
	if got := plansString(plans); got != want {
		t.Errorf("PlanStages:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlanStagesErrors(t *testing.T) {
	tests := []struct {
		name, content, target, want string
	}{
		{"unknown target", "FROM busybox AS a\n", "b", `no stage named "b" to build as target (stages: a)`},
		{"later stage index", "FROM busybox AS a\nCOPY --from=1 /x /x\nFROM busybox AS b\n", "", "Dockerfile:2: COPY --from=1: stage 1 is not an earlier stage"},
		{"empty FROM", "ARG BASE\nFROM ${BASE}\n", "", "expands to nothing"},
		{"mount from a later stage", "FROM busybox AS a\nRUN --mount=type=bind,from=1,target=/x true\nFROM busybox AS b\n", "", "Dockerfile:2: RUN --mount=type=bind,from=1: stage 1 is not an earlier stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := ParseDockerfile(writeDockerfile(t, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := PlanStages(df, tt.target, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PlanStages error = %v, want %q", err, tt.want)
			}
		})
	}
}
