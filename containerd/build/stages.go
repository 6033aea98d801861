package build

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// StagePlan is one stage to build: where it starts from and which other
// stages it needs first.
type StagePlan struct {
	Index int
	Name  string
	// BaseStage is the index of the stage it starts FROM, or -1 when it
	// starts from BaseImage ("scratch" for nothing).
	BaseStage int
	BaseImage string
	// Needs are the stages it starts from or copies from (COPY --from),
	// sorted: they are built first; stages that do not need each other
	// can be built at the same time.
	Needs []int
	// CopyImages are images COPY --from and RUN --mount from= name
	// directly.
	CopyImages []string
}

// PlanStages resolves the stages needed to build target (the last stage
// when ""), in the order they can be built: FROM and COPY --from name an
// earlier stage (by name or index) or an image, with the global ARGs
// (defaults overridden by buildArgs) expanded in FROM. Stages the target
// does not need are left out, as BuildKit does.
func PlanStages(df *Dockerfile, target string, buildArgs map[string]string) ([]StagePlan, error) {
	env := globalArgs(df.MetaArgs, buildArgs)
	lex := shell.NewLex('\\')
	byName := map[string]int{}
	plans := make([]StagePlan, len(df.Stages))
	for i, st := range df.Stages {
		p := StagePlan{Index: i, Name: st.Name, BaseStage: -1}
		base, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(env))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: stage %d: FROM %s: %w", df.Path, stageLine(st), i, st.BaseName, err)
		}
		if base == "" {
			return nil, fmt.Errorf("%s:%d: stage %d: FROM %s expands to nothing: give the ARG a default or a --build-arg", df.Path, stageLine(st), i, st.BaseName)
		}
		if j, ok := byName[strings.ToLower(base)]; ok {
			p.BaseStage = j
			p.Needs = append(p.Needs, j)
		} else {
			p.BaseImage = base
		}
		for _, cmd := range st.Commands {
			for _, from := range fromRefs(cmd) {
				j, isStage, err := stageRef(from.ref, byName, i)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %s=%s: %w", df.Path, line(cmd), from.flag, from.ref, err)
				}
				if isStage {
					p.Needs = append(p.Needs, j)
				} else {
					p.CopyImages = append(p.CopyImages, from.ref)
				}
			}
		}
		p.Needs = uniqueSorted(p.Needs)
		plans[i] = p
		if st.Name != "" {
			byName[strings.ToLower(st.Name)] = i
		}
	}

	last := len(plans) - 1
	if target != "" {
		j, ok := byName[strings.ToLower(target)]
		if !ok {
			names := make([]string, 0, len(byName))
			for n := range byName {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("%s: no stage named %q to build as target (stages: %s)", df.Path, target, strings.Join(names, ", "))
		}
		last = j
	}
	needed := map[int]bool{}
	var mark func(int)
	mark = func(i int) {
		if needed[i] {
			return
		}
		needed[i] = true
		for _, j := range plans[i].Needs {
			mark(j)
		}
	}
	mark(last)
	var out []StagePlan
	for i := 0; i <= last; i++ {
		if needed[i] {
			out = append(out, plans[i])
		}
	}
	return out, nil
}

// stageLine is the line of a stage's FROM.
func stageLine(st instructions.Stage) int {
	if len(st.Location) > 0 {
		return st.Location[0].Start.Line
	}
	return 0
}

// stageRef resolves COPY --from: an earlier stage's name or index, or
// else an image reference.
func stageRef(from string, byName map[string]int, current int) (int, bool, error) {
	if j, ok := byName[strings.ToLower(from)]; ok {
		return j, true, nil
	}
	if n, err := strconv.Atoi(from); err == nil {
		if n < 0 || n >= current {
			return 0, false, fmt.Errorf("stage %d is not an earlier stage (this is stage %d)", n, current)
		}
		return n, true, nil
	}
	return 0, false, nil
}

// globalArgs are the ARGs before the first FROM as KEY=VALUE: defaults,
// overridden by build args the Dockerfile declares.
func globalArgs(meta []instructions.ArgCommand, buildArgs map[string]string) []string {
	var env []string
	for _, a := range meta {
		for _, kv := range a.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				env = append(env, kv.Key+"="+v)
			} else if kv.Value != nil {
				env = append(env, kv.Key+"="+*kv.Value)
			}
		}
	}
	return env
}

func uniqueSorted(in []int) []int {
	sort.Ints(in)
	out := in[:0]
	for i, v := range in {
		if i == 0 || v != in[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// fromRef is a stage or image an instruction takes files from.
type fromRef struct{ flag, ref string }

// fromRefs are what COPY --from and RUN --mount=...,from= name.
func fromRefs(cmd instructions.Command) []fromRef {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			return []fromRef{{"COPY --from", c.From}}
		}
	case *instructions.RunCommand:
		var out []fromRef
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" && (m.Type == instructions.MountTypeBind || m.Type == instructions.MountTypeCache) {
				out = append(out, fromRef{"RUN --mount=type=" + string(m.Type) + ",from", m.From})
			}
		}
		return out
	}
	return nil
}
