package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/kube"

	"github.com/spf13/cobra"
)

// globalOptions are the flags every subcommand shares. Their names, and the
// environment variables behind them, are docker compose's.
type globalOptions struct {
	files       []string
	projectName string
	projectDir  string
	envFiles    []string
	profiles    []string
	parallel    int
	progress    string
	// ansi, verbose, compatibility and allResources: see ansi.go.
	ansi          string
	verbose       bool
	compatibility bool
	allResources  bool
	// assumeYes answers yes to every question (-y/--yes).
	assumeYes bool
	// dryRun shows what the command would do and does nothing (dryrun.go).
	dryRun bool

	address   string
	namespace string
	insecure  []string
	// addressExplicit is true when the user named the containerd socket:
	// berth then never replaces it with its managed daemon.
	addressExplicit bool
	// warnings is the running command's standard error.
	warnings io.Writer
	// kube, when enabled, runs the project commands on a cluster.
	kube kube.Kubeconfig
	// byLabels, set by the berth container commands, is the project they
	// work on, known from its containers' labels alone (never a file).
	byLabels string
}

func newRootCmd() *cobra.Command { return newRootCmdWith(&globalOptions{}) }

// newRootCmdWith is newRootCmd with its flags parsed into opts.
func newRootCmdWith(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "berth",
		Short: "Run compose stacks on containerd, without a Docker engine",
		Long: `berth runs the services of a compose file (compose.yaml, docker-compose.yml)
on containerd: it pulls or loads images, creates the containers and keeps
track of them, the way "docker compose" does, with no Docker engine.

When no containerd answers at the default socket, berth starts and manages
its own daemon (see "berth system info").`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Without it, cobra shows the help and exits 0 for a command it
		// does not know (TraverseChildren keeps its own check from running).
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			_, env := os.LookupEnv("CONTAINERD_ADDRESS")
			opts.addressExplicit = cmd.Root().Flags().Changed("address") || env
			opts.warnings = cmd.ErrOrStderr()
			if err := checkNamespace(opts.namespace); err != nil {
				return err
			}
			if err := checkKube(cmd, opts); err != nil {
				return err
			}
			if err := checkDryRun(cmd, opts.dryRun); err != nil {
				return err
			}
			return opts.resolveOutput(cmd)
		},
	}
	// The project flags belong to the root command, not to every subcommand
	// (as in docker compose): `berth -f x.yaml logs -f` is file, then follow.
	cmd.TraverseChildren = true
	f := cmd.Flags()
	f.StringArrayVarP(&opts.files, "file", "f", nil, "Compose configuration files (repeatable, merged in order; default: compose.yaml in this or a parent directory)")
	f.StringVarP(&opts.projectName, "project-name", "p", "", "Project name (default: $COMPOSE_PROJECT_NAME, the name: key, or the project directory's name)")
	f.StringVar(&opts.projectDir, "project-directory", "", "Project directory (default: the directory of the first compose file)")
	f.StringArrayVar(&opts.envFiles, "env-file", nil, "Environment files to read instead of the project directory's .env (repeatable)")
	f.StringArrayVar(&opts.profiles, "profile", nil, "Profiles to enable (repeatable; default: $COMPOSE_PROFILES)")
	f.IntVar(&opts.parallel, "parallel", -1, "Maximum number of services handled at once (-1: unlimited)")
	// Also after the subcommand: berth up --progress plain.
	cmd.PersistentFlags().StringVar(&opts.progress, "progress", envOr("COMPOSE_PROGRESS", "auto"), "Progress output: auto, tty, plain, json or quiet (default: $COMPOSE_PROGRESS, else auto)")
	f.StringVar(&opts.ansi, "ansi", "auto", `When to print ANSI control characters (colours, the live progress view): never, always or auto (default: $COMPOSE_ANSI, else auto)`)
	f.BoolVar(&opts.verbose, "verbose", false, "Show more output: what up plans to do to each container, and why")
	f.BoolVar(&opts.compatibility, "compatibility", false, "Compose v1 compatibility: name containers project_service_1, with underscores (also $COMPOSE_COMPATIBILITY)")
	f.BoolVar(&opts.allResources, "all-resources", false, "Include all resources, even the networks and volumes no service uses")
	// Persistent: docker compose takes it after the subcommand (up -y) too.
	cmd.PersistentFlags().BoolVarP(&opts.assumeYes, "yes", "y", false, `Assume "yes" as the answer to every question and run non-interactively (up: recreate a volume whose configuration changed)`)
	cmd.PersistentFlags().BoolVar(&opts.dryRun, "dry-run", false, "Print what the command would do, and why, without doing it (up, create, scale, down, build, pull, push, rm, stop, start, restart, kill, pause, unpause)")
	f.StringVar(&opts.address, "address", envOr("CONTAINERD_ADDRESS", defaultAddress), "containerd socket; when none answers at the default, berth runs its own daemon")
	f.StringVar(&opts.namespace, "namespace", envOr("CONTAINERD_NAMESPACE", defaultNamespace), "containerd namespace for berth's containers and images")
	addKubeFlags(cmd, opts)
	f.StringArrayVar(&opts.insecure, "insecure-registry", nil, "Registry reached over plain HTTP (loopback registries always are)")

	cmd.AddCommand(
		newConfigCmd(opts),
		newConvertCmd(opts),
		newUpCmd(opts),
		newWatchCmd(opts),
		newScaleCmd(opts),
		newCreateCmd(opts),
		newDownCmd(opts),
		newPsCmd(opts),
		newLogsCmd(opts),
		newPortCmd(opts),
		newStopCmd(opts),
		newStartCmd(opts),
		newRestartCmd(opts),
		newKillCmd(opts),
		newRmCmd(opts),
		newLsCmd(opts),
		newWaitCmd(opts),
		newEventsCmd(opts),
		newVolumeCmd(opts),
		newVolumesCmd(opts),
		newSystemdCmd(opts),
		newPauseCmd(opts, true),
		newPauseCmd(opts, false),
		newExecCmd(opts),
		newAttachCmd(opts),
		newRunCmd(opts),
		newCpCmd(opts),
		newExportCmd(opts),
		newCommitCmd(opts),
		newTopCmd(opts),
		newGraphCmd(opts),
		newStatsCmd(opts),
		newPullCmd(opts),
		newBuildCmd(opts),
		newPushCmd(opts),
		newPublishCmd(opts),
		newSaveCmd(opts),
		newBundleCmd(opts),
		newBuilderCmd(opts),
		newImagesCmd(opts),
		newImageCmd(opts),
		newLoadCmd(opts),
		newSystemCmd(opts),
		newVersionCmd(opts),
		newLogDriverCmd(),
		newDNSDaemonCmd(opts),
		newContainerCmd(opts),
	)
	return cmd
}

// unknownCommand is cobra's own error for a command it does not know, with
// its suggestions, on one line as berth's errors are: `berth upp` fails
// with unknown command "upp" for "berth"; did you mean: up, ps, cp, top?
func unknownCommand(root *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, root.CommandPath())
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean: " + strings.Join(s, ", ") + "?"
	}
	return errors.New(msg + " (" + root.CommandPath() + " --help lists the commands)")
}

// defaultAddress is containerd's default socket.
const defaultAddress = "/run/containerd/containerd.sock"

// defaultNamespace is the containerd namespace of berth's containers and
// images unless --namespace or CONTAINERD_NAMESPACE names another.
const defaultNamespace = "berth"

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// composeOptions are the loader options the global flags describe; with
// -p NAME and no compose file here, the file of that loaded bundle.
func (o *globalOptions) composeOptions() compose.Options {
	lo := compose.Options{
		Files:       o.files,
		ProjectName: o.projectName,
		ProjectDir:  o.projectDir,
		EnvFiles:    o.envFiles,
		Profiles:    o.profiles,
		Environ:     os.Environ(),

		AllResources:  o.allResources,
		Compatibility: o.compatibility,
		// -f oci://REPO[:TAG]: a project published with berth publish.
		Artifacts:     registryArtifacts{containerd.NewRegistry(o.insecure...)},
		ArtifactCache: filepath.Join(dataDir(), "oci"),
	}
	// -p NAME with no compose file here: the loaded bundle's project, for
	// every command that reads the project (up, ps, down, config …).
	if f := o.bundleComposeFile(); f != "" && !compose.HasConfig(lo) {
		lo.Files = []string{f}
	}
	return lo
}
