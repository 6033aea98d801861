package compose

import "github.com/compose-spec/compose-go/v2/cli"

// HasConfig reports whether opts lead to compose files without loading
// them: files named (opts.Files, COMPOSE_FILE from the environment or the
// .env file), or a compose.yaml (and the other default names) in the
// project directory or the working directory and its parents. When it is
// false, Load fails with ErrNoConfig, so callers can pick another source
// (a loaded bundle's project) first.
func HasConfig(opts Options) bool {
	po, err := cli.NewProjectOptions(opts.Files,
		cli.WithWorkingDirectory(opts.ProjectDir),
		cli.WithEnv(opts.Environ),
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
	)
	return err == nil && len(po.ConfigPaths) > 0
}
