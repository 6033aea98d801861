package build

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// defaultShell is the shell of shell-form RUN, CMD and ENTRYPOINT on Linux.
var defaultShell = []string{"/bin/sh", "-c"}

// StageState is what a stage's instructions have made of its image config
// so far, and the ARGs in scope (which RUN sees, and which do not persist
// in the image).
type StageState struct {
	Config dockerspec.DockerOCIImageConfig
	// Args are the ARGs declared in the stage, with their values.
	Args map[string]string
	// History gets one entry per instruction.
	History []ocispec.History
	// cmdSet records that this stage set CMD, which ENTRYPOINT then keeps.
	cmdSet bool
	lex    *shell.Lex
	// buildArgs are --build-arg values; globals the defaults of the ARGs
	// before the first FROM.
	buildArgs, globals map[string]string
}

// NewStageState starts a stage from its base image's config, with the
// build args given and the global ARGs' defaults. An ARG of the stage takes
// the build arg's value, else its own default, else the global default.
func NewStageState(base dockerspec.DockerOCIImageConfig, buildArgs, globals map[string]string) *StageState {
	s := &StageState{Config: base, Args: map[string]string{}, lex: shell.NewLex('\\'), buildArgs: buildArgs, globals: globals}
	if s.Config.Labels == nil {
		s.Config.Labels = map[string]string{}
	}
	return s
}

// env is what variables expand from: the image's ENV, then the ARGs, ENV
// winning as in Docker.
func (s *StageState) env() []string {
	env := make([]string, 0, len(s.Args)+len(s.Config.Env))
	keys := make([]string, 0, len(s.Args))
	for k := range s.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.Args[k])
	}
	return append(env, s.Config.Env...)
}

// Expand expands variables in one word as the stage sees them.
func (s *StageState) Expand(word string) (string, error) {
	out, _, err := s.lex.ProcessWord(word, shell.EnvsFromSlice(s.env()))
	return out, err
}

// ApplyMeta applies an instruction that only changes the image config
// (ENV, ARG, LABEL, EXPOSE, USER, WORKDIR, CMD, ENTRYPOINT, VOLUME,
// STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER) and reports whether
// it was one; RUN, COPY and ADD are left to the executor. WORKDIR also
// needs its directory made, by the executor.
func (s *StageState) ApplyMeta(cmd instructions.Command) (bool, error) {
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if err := ex.Expand(s.Expand); err != nil {
			return false, fmt.Errorf("line %d: %w", line(cmd), err)
		}
	}
	c := &s.Config
	switch cmd := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range cmd.Env {
			c.Env = setEnv(c.Env, kv.Key, kv.Value)
		}
	case *instructions.ArgCommand:
		for _, kv := range cmd.Args {
			if v, given := s.buildArgs[kv.Key]; given {
				s.Args[kv.Key] = v
			} else if kv.Value != nil {
				s.Args[kv.Key] = *kv.Value
			} else {
				s.Args[kv.Key] = s.globals[kv.Key]
			}
		}
	case *instructions.LabelCommand:
		for _, kv := range cmd.Labels {
			c.Labels[kv.Key] = kv.Value
		}
	case *instructions.ExposeCommand:
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range cmd.Ports {
			port, err := s.Expand(p)
			if err != nil {
				return false, fmt.Errorf("line %d: EXPOSE %s: %w", line(cmd), p, err)
			}
			if !strings.Contains(port, "/") {
				port += "/tcp"
			}
			if err := checkExposed(port); err != nil {
				return false, fmt.Errorf("line %d: EXPOSE %s: %w", line(cmd), p, err)
			}
			c.ExposedPorts[strings.ToLower(port)] = struct{}{}
		}
	case *instructions.UserCommand:
		c.User = cmd.User
	case *instructions.WorkdirCommand:
		dir := cmd.Path
		if !path.IsAbs(dir) {
			base := c.WorkingDir
			if base == "" {
				base = "/"
			}
			dir = path.Join(base, dir)
		}
		c.WorkingDir = path.Clean(dir)
	case *instructions.CmdCommand:
		c.Cmd = s.cmdLine(cmd.ShellDependantCmdLine)
		s.cmdSet = true
	case *instructions.EntrypointCommand:
		c.Entrypoint = s.cmdLine(cmd.ShellDependantCmdLine)
		if !s.cmdSet {
			c.Cmd = nil // as Docker: a new ENTRYPOINT drops the base image's CMD
		}
	case *instructions.VolumeCommand:
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range cmd.Volumes {
			c.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		c.StopSignal = cmd.Signal
	case *instructions.HealthCheckCommand:
		h := *cmd.Health
		c.Healthcheck = &h
	case *instructions.ShellCommand:
		c.Shell = append([]string{}, cmd.Shell...)
	case *instructions.OnbuildCommand:
		c.OnBuild = append(c.OnBuild, cmd.Expression)
	case *instructions.MaintainerCommand:
		c.Labels["maintainer"] = cmd.Maintainer
	default:
		return false, nil
	}
	s.History = append(s.History, ocispec.History{CreatedBy: historyText(cmd), EmptyLayer: true})
	return true, nil
}

// cmdLine is CMD's or ENTRYPOINT's argv: the exec form as written, the
// shell form run by the stage's shell.
func (s *StageState) cmdLine(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string{}, c.CmdLine...)
	}
	sh := s.Config.Shell
	if len(sh) == 0 {
		sh = defaultShell
	}
	return append(append([]string{}, sh...), strings.Join(c.CmdLine, " "))
}

// historyText is how the image history records an instruction.
func historyText(cmd instructions.Command) string {
	if st, ok := cmd.(fmt.Stringer); ok {
		return st.String()
	}
	return cmd.Name()
}

// setEnv sets KEY=value in an environment list, replacing an earlier KEY.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			out := append([]string{}, env...)
			out[i] = key + "=" + value
			return out
		}
	}
	return append(append([]string{}, env...), key+"="+value)
}

// checkExposed refuses what Docker's EXPOSE refuses: a port that is not a
// number (or range) in 1-65535, or a protocol other than tcp, udp or sctp.
func checkExposed(port string) error {
	num, proto, _ := strings.Cut(port, "/")
	switch strings.ToLower(proto) {
	case "tcp", "udp", "sctp":
	default:
		return fmt.Errorf("invalid protocol %q: use tcp, udp or sctp", proto)
	}
	lo, hi, isRange := strings.Cut(num, "-")
	if !isRange {
		hi = lo
	}
	min, err1 := strconv.ParseUint(lo, 10, 16)
	max, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || min == 0 || max < min {
		return fmt.Errorf("invalid port %q: give a number from 1 to 65535, or a range such as 8000-8010", num)
	}
	return nil
}
