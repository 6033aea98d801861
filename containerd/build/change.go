package build

import (
	"fmt"
	"maps"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// commitChanges are the instructions docker commit --change accepts: those
// that only change the image config.
var commitChanges = map[string]bool{
	"cmd": true, "entrypoint": true, "env": true, "expose": true, "label": true, "onbuild": true,
	"user": true, "volume": true, "workdir": true, "stopsignal": true, "healthcheck": true, "shell": true,
}

// ApplyChanges applies Dockerfile instructions given to commit --change
// ("CMD [\"sh\"]", "ENV DEBUG=true") to an image config, as docker commit
// does; variables in them expand from the config's ENV. An instruction
// that is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER,
// VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK or SHELL is refused.
func ApplyChanges(cfg dockerspec.DockerOCIImageConfig, changes []string) (dockerspec.DockerOCIImageConfig, error) {
	// The config's maps are the caller's: the changes go to copies.
	cfg.Labels, cfg.ExposedPorts, cfg.Volumes = maps.Clone(cfg.Labels), maps.Clone(cfg.ExposedPorts), maps.Clone(cfg.Volumes)
	s := NewStageState(cfg, nil, nil)
	for _, change := range changes {
		res, err := parser.Parse(strings.NewReader(change))
		if err != nil {
			return cfg, fmt.Errorf("--change %q: %w", change, err)
		}
		if len(res.AST.Children) != 1 {
			return cfg, fmt.Errorf("--change %q: give one Dockerfile instruction per --change", change)
		}
		node := res.AST.Children[0]
		if !commitChanges[strings.ToLower(node.Value)] {
			return cfg, fmt.Errorf("--change %q: %s cannot be applied to an image: use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK or SHELL", change, strings.ToUpper(node.Value))
		}
		cmd, err := instructions.ParseCommand(node)
		if err != nil {
			return cfg, fmt.Errorf("--change %q: %w", change, err)
		}
		if _, err := s.ApplyMeta(cmd); err != nil {
			return cfg, fmt.Errorf("--change %q: %w", change, err)
		}
	}
	if len(s.Config.Labels) == 0 {
		s.Config.Labels = nil
	}
	return s.Config, nil
}
