package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

type upOptions struct {
	detach        bool
	forceRecreate bool
	noRecreate    bool
	removeOrphans bool
	noDeps        bool
	noStart       bool
	timeout       int
	build         bool
	noBuild       bool
	wait          bool
	waitTimeout   int
	// registry (clusters only) is where the images of build: services
	// are pushed before the manifests are applied.
	registry string
	// scale are --scale SERVICE=N overrides of the file's replicas.
	scale []string
	// attached mode
	abortOnExit    bool
	abortOnFailure bool
	exitCodeFrom   string
	attach         []string
	noAttach       []string
	noColor        bool
	noLogPrefix    bool
	timestamps     bool
	// attachDeps shows the dependencies' output too; named are the
	// services named on the command line.
	attachDeps bool
	named      []string
	menu       bool
	// recreation and images
	alwaysRecreateDeps bool
	renewAnonVolumes   bool
	pull               string
	quietPull          bool
	quietBuild         bool
	// report is where up --wait writes its readiness report ("-":
	// standard output); summary prints it for people at the end.
	report  string
	summary bool
	// watch follows the develop.watch rules while attached (up --watch).
	watch bool
	// stopWatch ends up --watch's watching, and waits for the action under
	// way: attached up calls it before it stops the stack, so that no
	// rebuild recreates a container after the stop.
	stopWatch func()
}

func newUpCmd(g *globalOptions) *cobra.Command {
	opts := upOptions{}
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start the project's containers",
		Long: `Create and start the services' containers, each after the services it
depends on. Containers that are up to date are left alone; a service whose
configuration changed has its containers recreated.

Without -d, up stays attached: it prints the containers' output with
"name | " prefixes until they have all exited; Ctrl-C stops them
gracefully, a second Ctrl-C kills them.

On a cluster (--kubeconfig, --kube), up converts the whole project and
applies it. With SERVICE names it applies the objects of those services
and of the services they depend on (only the named ones with --no-deps),
with the Namespace and the Secrets, ConfigMaps and Job waiters' account
their pods use; other services' objects on the cluster stay as they are.
--wait waits for these services only.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.detach, "detach", "d", false, "Detached mode: start the containers and return")
	f.BoolVar(&opts.abortOnExit, "abort-on-container-exit", false, "Stop all containers when one exits (attached mode)")
	f.BoolVar(&opts.abortOnFailure, "abort-on-container-failure", false, "Stop all containers when one exits with a non-zero code (attached mode)")
	f.StringVar(&opts.exitCodeFrom, "exit-code-from", "", "Return this service's exit code, stopping all when it exits (attached mode)")
	f.StringArrayVar(&opts.attach, "attach", nil, "Show the output of these services only (attached mode)")
	f.StringArrayVar(&opts.noAttach, "no-attach", nil, "Do not show the output of these services (attached mode)")
	f.BoolVar(&opts.noColor, "no-color", false, "Produce monochrome output")
	f.BoolVar(&opts.noLogPrefix, "no-log-prefix", false, "Do not print the container name before each line")
	f.BoolVar(&opts.timestamps, "timestamps", false, "Show timestamps")
	f.BoolVar(&opts.forceRecreate, "force-recreate", false, "Recreate containers even if their configuration has not changed")
	f.BoolVar(&opts.noRecreate, "no-recreate", false, "Keep existing containers even if their configuration changed")
	f.BoolVar(&opts.removeOrphans, "remove-orphans", false, "Remove containers of services that are no longer in the compose file, and one-offs that exited (default: $COMPOSE_REMOVE_ORPHANS, also read from .env)")
	f.BoolVar(&opts.noDeps, "no-deps", false, "Do not start the named services' dependencies, nor wait for them (on a cluster: do not apply their objects)")
	f.BoolVar(&opts.noStart, "no-start", false, "Create the containers without starting them")
	f.BoolVar(&opts.build, "build", false, "Build images before starting containers (by default only missing images are built)")
	f.BoolVar(&opts.noBuild, "no-build", false, "Do not build images, even missing ones")
	f.BoolVar(&opts.wait, "wait", false, "Wait until the services are running, and healthy when they have a healthcheck (implies -d)")
	f.IntVar(&opts.waitTimeout, "wait-timeout", 0, "Give up --wait after this many seconds (0: no limit)")
	f.StringVar(&opts.registry, "registry", "", "With --kubeconfig: build the images of build: services and push them to this `REGISTRY` (host[:port][/path]); the cluster runs them by digest")
	f.StringArrayVar(&opts.scale, "scale", nil, "Scale SERVICE to NUM replicas (SERVICE=NUM, repeatable); overrides scale and deploy.replicas of the compose file")
	f.IntVarP(&opts.timeout, "timeout", "t", -1, "Seconds to wait for containers being replaced to stop (default: their stop_grace_period)")
	f.BoolVar(&opts.attachDeps, "attach-dependencies", false, "Show the output of the named services' dependencies too (attached mode; by default only the named services' is shown)")
	f.BoolVar(&opts.alwaysRecreateDeps, "always-recreate-deps", false, "Recreate the containers of the named services' dependencies, even unchanged ones")
	f.BoolVarP(&opts.renewAnonVolumes, "renew-anon-volumes", "V", false, "Give recreated containers new anonymous volumes instead of the previous containers' data")
	f.StringVar(&opts.pull, "pull", "policy", "Pull images: always, missing, never, build (build them), or policy (each service's pull_policy)")
	f.BoolVar(&opts.quietPull, "quiet-pull", false, "Pull without printing the progress of each layer")
	f.BoolVar(&opts.quietBuild, "quiet-build", false, "Build without printing the builds' output")
	f.StringVar(&opts.report, "report", "", "With --wait: write a JSON readiness report to `FILE` (- for standard output), also when up fails: each container's create, start, first probe and healthy times, the waits on dependencies, pulls, builds, what failed and why, and the critical path (docs/report.md)")
	f.BoolVar(&opts.summary, "summary", false, "With --wait: print a short readiness summary at the end (critical path, pulls, builds, what failed)")
	f.BoolVarP(&opts.watch, "watch", "w", false, "Watch the services' develop.watch paths and sync, restart or rebuild on changes while attached (see berth watch)")
	f.BoolVar(&opts.menu, "menu", false, "Accepted for docker compose's interactive shortcuts (also $COMPOSE_MENU); berth shows no menu")
	return cmd
}

// checkUpFlags refuses the combinations of up's flags docker compose
// refuses, before anything is loaded. It may turn on detach (--wait) and
// abortOnExit (--exit-code-from).
func checkUpFlags(opts *upOptions) error {
	attachedOnly := opts.abortOnExit || opts.abortOnFailure || opts.exitCodeFrom != "" || opts.attachDeps
	switch {
	case (opts.detach || opts.wait) && attachedOnly:
		return errors.New("--abort-on-container-exit, --abort-on-container-failure, --exit-code-from and --attach-dependencies need attached mode: drop -d/--wait")
	case opts.watch && (opts.detach || opts.wait):
		return errors.New("--watch needs attached mode: drop -d/--wait, or run berth watch after up -d")
	case opts.build && opts.noBuild:
		return errors.New("--build and --no-build cannot be used together")
	case len(opts.attach) > 0 && opts.attachDeps:
		return errors.New("cannot combine --attach and --attach-dependencies: --attach names every service to show")
	case opts.renewAnonVolumes && opts.noRecreate:
		return errors.New("--no-recreate and --renew-anon-volumes are incompatible: a container kept has its volumes")
	case opts.alwaysRecreateDeps && opts.noRecreate:
		return errors.New("--always-recreate-deps and --no-recreate are incompatible")
	case opts.forceRecreate && opts.noRecreate:
		return errors.New("--force-recreate and --no-recreate are incompatible")
	}
	if _, err := compose.ParsePullPolicy(opts.pull); err != nil {
		return err
	}
	if opts.wait {
		opts.detach = true
	}
	// As docker compose: --exit-code-from implies --abort-on-container-exit.
	if opts.exitCodeFrom != "" && !opts.abortOnFailure {
		opts.abortOnExit = true
	}
	return nil
}

func runUp(cmd *cobra.Command, g *globalOptions, opts upOptions, services []string) error {
	if g.kube.Enabled() {
		return runKubeUp(cmd, g, opts, services)
	}
	if opts.registry != "" {
		return errors.New("--registry is for up on a cluster (--kubeconfig): on one machine the images stay in berth's containerd")
	}
	upStart := time.Now()
	if err := checkReportFlags(opts, g.dryRun); err != nil {
		return err
	}
	if err := checkUpFlags(&opts); err != nil {
		return err
	}
	opts.named = services
	replicas, err := compose.ParseScale("--scale", opts.scale)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	if err := checkWatchable(p, opts.watch); err != nil {
		return err
	}
	if err := g.checkRemoteStack(ctx, os.Stdin, cmd.OutOrStdout(), isTerminal(os.Stdin), p); err != nil {
		return err
	}
	if !cmd.Flags().Changed("remove-orphans") {
		// As docker compose: from the shell or the project's .env.
		opts.removeOrphans = envBool(p.Environment[envRemoveOrphans])
	}
	if err := p.SetScale(replicas); err != nil {
		return err
	}
	pull, _ := compose.ParsePullPolicy(opts.pull) // checked above
	p.OverridePullPolicy(pull)
	if pull == compose.PullBuild {
		opts.build = true // every image with a build section is built, as --build does
	}
	ro := scheduler.ReconcileOptions{
		ForceRecreate:      opts.forceRecreate,
		NoRecreate:         opts.noRecreate,
		RemoveOrphans:      opts.removeOrphans,
		NoDeps:             opts.noDeps,
		AlwaysRecreateDeps: opts.alwaysRecreateDeps,
	}
	if len(services) > 0 {
		ro.Services = services
	}
	if !opts.detach {
		for _, f := range []struct {
			flag  string
			names []string
		}{{"--exit-code-from", []string{opts.exitCodeFrom}}, {"--attach", opts.attach}, {"--no-attach", opts.noAttach}} {
			if err := scheduler.CheckAttachNames(p, ro, f.flag, f.names...); err != nil {
				return err
			}
		}
	}
	// Refused before anything is made, as Docker refuses it on creation.
	if err := p.CheckHost(); err != nil {
		return err
	}
	if g.dryRun {
		return dryRunUp(cmd, g, p, scheduler.UpOptions{ReconcileOptions: ro, Build: opts.build, NoBuild: opts.noBuild, NoStart: opts.noStart})
	}
	reportTo, err := openReportFile(opts.report)
	if err != nil {
		return err
	}
	defer reportTo.close()
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	// Locked until the project is up, not while attached to its logs.
	lock, err := lockProject(cmd, g, p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, rt, p.Name)
	// A project process that does not supervise is restarted, as a dead
	// one is: up makes it again below.
	why, err := runstate.StopIfNotSupervising(ctx, g.namespaceRunDir(), p.Name, netbridge.DNSDaemonPID(g.namespaceRunDir(), p.Name))
	if err != nil {
		return err
	}
	if why != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "Restarting the background process of project %s: %s\n", p.Name, why)
	}
	progress.quietPull = opts.quietPull
	rep := newUpReport(opts, reportTo, upStart, progress)
	progress.Live()
	defer progress.Stop()
	uo := scheduler.UpOptions{
		ReconcileOptions: ro,
		Parallel:         g.parallel,
		NoStart:          opts.noStart,
		Builder:          rt,
		Build:            opts.build,
		NoBuild:          opts.noBuild,
		RenewAnonVolumes: opts.renewAnonVolumes,
		BuildOptions:     scheduler.BuildOptions{Out: buildOutput(progress, opts.buildOut(cmd), opts.quietBuild)},
		Confirm:          g.confirmer(progress),
	}
	uo.StopTimeout = timeoutFlag(opts.timeout)
	// The project's supervisor probes eagerly what this up waits on.
	release, err := runstate.AnnounceWait(g.namespaceRunDir(), p.Name, os.Getpid(), scheduler.AwaitedServices(p, opts.wait))
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	plan, err := scheduler.Up(ctx, p, rt, nw, progress, uo)
	if g.verbose && plan != nil {
		progress.Stop()
		printPlan(cmd.ErrOrStderr(), plan)
	}
	if err != nil {
		progress.Stop()
		reportFailed(cmd, rep, rt, p, err)
		return upFailed(cmd, rt, p, err)
	}
	if opts.wait {
		if err := scheduler.WaitReady(ctx, p, rt, progress, plan.Only, time.Duration(opts.waitTimeout)*time.Second); err != nil {
			progress.Stop()
			reportFailed(cmd, rep, rt, p, err)
			return upFailed(cmd, rt, p, err)
		}
	}
	progress.Stop()
	if err := rep.write(cmd, rt, p, nil); err != nil {
		return err
	}
	release()
	lock.Unlock()
	if !opts.detach && !opts.noStart {
		if opts.watch {
			stopWatch, err := watchAttached(cmd, g, rt, nw, p, nil, opts.quietBuild)
			if err != nil {
				return err
			}
			defer stopWatch()
			opts.stopWatch = stopWatch
		}
		return attachUp(cmd, g, rt, nw, progress, p, plan, opts, start)
	}
	if !plan.Changes() {
		fmt.Fprintf(cmd.ErrOrStderr(), "Nothing to do: project %s is up to date.\n", p.Name)
	}
	return nil
}

// upFailed reports a failed up: the error as compose words it on its own
// line first (scripts match it), then what berth adds: the details of the
// services to blame and their last log lines. Interrupted, it leaves the
// error to main (exit 130).
func upFailed(cmd *cobra.Command, rt *containerd.Client, p *compose.Project, err error) error {
	if cmd.Context().Err() != nil {
		showCulpritLogs(cmd, rt, p, err)
		return err
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintln(w, err)
	for _, d := range scheduler.Details(err) {
		fmt.Fprintln(w, d)
	}
	showCulpritLogs(cmd, rt, p, err)
	return exitError{code: 1}
}

// culpritLogLines is how much of a failed service's log up shows.
const culpritLogLines = 10

// showCulpritLogs prints the last lines of the logs of the services a
// failed up blames, on standard error: usually the reason is there.
func showCulpritLogs(cmd *cobra.Command, rt *containerd.Client, p *compose.Project, err error) {
	services := scheduler.Culprits(err)
	if len(services) == 0 {
		return
	}
	ctx := context.WithoutCancel(cmd.Context())
	all, lerr := rt.Containers(ctx, p.Name)
	if lerr != nil {
		return
	}
	w := cmd.ErrOrStderr()
	for _, service := range services {
		for _, c := range scheduler.ServiceContainers(all, []string{service}) {
			var lines []containerd.LogEntry
			if rt.Logs(ctx, []scheduler.Container{c}, containerd.LogOptions{Tail: culpritLogLines}, func(e containerd.LogEntry) { lines = append(lines, e) }) != nil || len(lines) == 0 {
				continue
			}
			fmt.Fprintf(w, "Last %d log lines of %s:\n", len(lines), c.Name)
			pr := newLogPrinter(w, []scheduler.Container{c}, false, true, false)
			for _, e := range lines {
				pr.print(e)
			}
		}
	}
}

// printPlan writes, for --verbose, every step up planned with its reason,
// one a line: "DEBUG plan: db: recreate demo-db-1 (config changed (environment))".
func printPlan(w io.Writer, plan *scheduler.Plan) {
	for _, line := range strings.Split(strings.TrimSuffix(plan.String(), "\n"), "\n") {
		fmt.Fprintf(w, "DEBUG plan: %s\n", line)
	}
}

// envRemoveOrphans turns on --remove-orphans of up, down and kill when
// true, as in docker compose.
const envRemoveOrphans = "COMPOSE_REMOVE_ORPHANS"

// envBool reads a COMPOSE_* switch as docker compose does: "y" or what
// strconv.ParseBool takes as true, any case; anything else is false.
func envBool(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "y" {
		return true
	}
	b, _ := strconv.ParseBool(v)
	return b
}
