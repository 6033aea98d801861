package compose

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/loader"
	"gopkg.in/yaml.v3"
)

// ProjectName is the name docker compose gives the project opts
// describe, told without loading the model, for the commands that still
// work on a project by name when its file does not load. In compose's
// order: opts.ProjectName, COMPOSE_PROJECT_NAME (from the environment or
// the .env file), the name: key of the files, the project directory's
// name. It is "" when it cannot be told: no file found, a name: that
// needs interpolation, files that do not read or parse.
func ProjectName(ctx context.Context, opts Options) string {
	if opts.ProjectName != "" {
		return opts.ProjectName
	}
	// The .env read again once the default path set the project's
	// directory, as the loader does.
	po, err := lookupOptions(opts, cli.WithEnvFiles(opts.EnvFiles...), cli.WithDotEnv)
	if err != nil || len(po.ConfigPaths) == 0 {
		return ""
	}
	if name := po.Environment[consts.ComposeProjectName]; name != "" {
		return name
	}
	dir, err := po.GetWorkingDir()
	if err != nil {
		return ""
	}
	details, err := po.ReadConfigFiles(ctx, dir, po)
	if err != nil {
		return ""
	}
	for _, f := range details.ConfigFiles {
		var named struct {
			Name string `yaml:"name"`
		}
		if err := yaml.Unmarshal(f.Content, &named); err != nil {
			return ""
		}
		if named.Name != "" {
			if strings.Contains(named.Name, "$") {
				return ""
			}
			return named.Name
		}
	}
	return loader.NormalizeProjectName(filepath.Base(dir))
}
