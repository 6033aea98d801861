package compose

import "github.com/compose-spec/compose-go/v2/cli"

// HasConfig reports whether opts lead to compose files without loading
// them: files named (opts.Files, COMPOSE_FILE from the environment or the
// .env file), or a compose.yaml (and the other default names) in the
// project directory or the working directory and its parents. When it is
// false, Load fails with ErrNoConfig, so callers can pick another source
// (a loaded bundle's project) first.
func HasConfig(opts Options) bool {
	po, err := lookupOptions(opts)
	return err == nil && len(po.ConfigPaths) > 0
}

// lookupOptions are compose's project options for finding the compose
// files as the loader does (-f, COMPOSE_FILE from the environment or
// .env, else compose.yaml here or in a parent), without loading them;
// extra are applied after.
func lookupOptions(opts Options, extra ...cli.ProjectOptionsFn) (*cli.ProjectOptions, error) {
	return cli.NewProjectOptions(opts.Files, append([]cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(opts.ProjectDir),
		cli.WithEnv(opts.Environ),
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
	}, extra...)...)
}
