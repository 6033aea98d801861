package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

type pullOptions struct {
	ignoreFailures  bool
	ignoreBuildable bool
	quiet           bool
	includeDeps     bool
	policy          string
}

func newPullCmd(g *globalOptions) *cobra.Command {
	opts := pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull the images of the project's services",
		Long: `Pull the services' images, as docker compose does: a service without an
image name (it is only built) is skipped, and so are those with pull_policy
never or build, and those with pull_policy missing whose tagged image is
present already. A service that can be built only warns when its pull fails.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.ignoreFailures, "ignore-pull-failures", false, "Pull what can be pulled and ignore the images that fail")
	f.BoolVar(&opts.ignoreBuildable, "ignore-buildable", false, "Skip the images of services that have a build section (build them instead)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print no progress")
	f.BoolVar(&opts.includeDeps, "include-deps", false, "Also pull the images of the services the named ones depend on")
	f.StringVar(&opts.policy, "policy", "", `Pull policy for every service with an image: "missing" (skip images present) or "always"`)
	return cmd
}

// withDependencies is services with what they depend on (for
// --include-deps); nil (every service) stays nil.
func withDependencies(p *compose.Project, services []string) ([]string, error) {
	if len(services) == 0 {
		return services, nil
	}
	g, err := scheduler.NewGraph(p)
	if err != nil {
		return nil, err
	}
	return g.WithDependencies(services), nil
}

// applyPullPolicy gives every service with an image pull --policy's
// policy, as docker compose pull --policy does.
func applyPullPolicy(p *compose.Project, policy string) error {
	switch policy {
	case "":
		return nil
	case "missing", "always":
	default:
		return fmt.Errorf("pull --policy %q: use missing or always", policy)
	}
	for _, s := range p.Services {
		if s.Image == "" {
			continue
		}
		s.PullPolicy = compose.PullPolicy(policy)
		s.PullIfMissing = policy == "missing"
	}
	return nil
}

// Texts of docker compose's pull events for services it does not pull.
const (
	skipNoImage = "Skipped - No image to be pulled"
	skipPolicy  = "Skipped"
	skipPresent = "Skipped - Image is already present locally"
	skipBuild   = "Skipped - Image can be built"
)

// pullSkip says why a service's image is not pulled ("" when it is), by
// docker compose's rules: no image name, pull_policy never or build, or
// pull_policy missing with the image present under a tag other than
// latest. present is asked only in that last case.
func pullSkip(ctx context.Context, s *compose.Service, present func(ctx context.Context, image string) (bool, error)) (string, error) {
	switch {
	case s.Image == "":
		return skipNoImage, nil
	case s.PullPolicy == compose.PullNever || s.PullPolicy == compose.PullBuild:
		return skipPolicy, nil
	case s.PullIfMissing:
		ref, err := reference.ParseDockerRef(s.Image)
		if err != nil {
			return "", nil // the pull names what is wrong with it
		}
		if t, ok := ref.(reference.NamedTagged); !ok || t.Tag() == "latest" {
			return "", nil
		}
		ok, err := present(ctx, s.Image)
		if err != nil {
			return "", fmt.Errorf("service %q: %w", s.Name, err)
		}
		if ok {
			return skipPresent, nil
		}
	}
	return "", nil
}

func runPull(cmd *cobra.Command, g *globalOptions, opts pullOptions, services []string) error {
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	if err := applyPullPolicy(p, opts.policy); err != nil {
		return err
	}
	if opts.includeDeps {
		if services, err = withDependencies(p, services); err != nil {
			return err
		}
	}
	if opts.quiet {
		g.progress = "quiet"
	}
	rt, progress, err := g.connectWithProgress(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	present := func(ctx context.Context, image string) (bool, error) {
		id, err := rt.ImageID(ctx, image)
		return id != "", err
	}

	// One pull per image and platform, even when several services share
	// it.
	type pullKey struct{ image, platform string }
	images := map[pullKey]*compose.Service{}
	var order []pullKey
	var steps []dryRunStep
	for _, s := range p.Services {
		if len(services) > 0 && !contains(services, s.Name) {
			continue
		}
		why, err := pullSkip(ctx, s, present)
		if err != nil {
			return err
		}
		if why == "" && opts.ignoreBuildable && s.HasBuild {
			why = skipBuild
		}
		key := pullKey{s.Image, s.Platform}
		if first, ok := images[key]; ok && why == "" {
			why = "Skipped - Image is already being pulled by " + first.Name
		}
		if why != "" && g.dryRun {
			steps = append(steps, dryRunStep{DryRun: true, Action: "skip", Service: s.Name, Name: s.Image, Reason: why, Text: "skip " + s.Name + ": " + why})
			continue
		}
		if why != "" {
			progress.Emit(scheduler.Event{Kind: scheduler.KindService, Name: s.Name, Status: scheduler.StatusDone, Text: why})
			continue
		}
		images[key] = s
		order = append(order, key)
	}
	if g.dryRun {
		for _, key := range order {
			st := dryRunStep{DryRun: true, Action: string(scheduler.OpPull), Service: images[key].Name, Name: key.image, Text: "pull " + key.image}
			if key.platform != "" {
				st.Reason = "platform " + key.platform
				st.Text += ": " + st.Reason
			}
			steps = append(steps, st)
		}
		printDryRun(cmd.OutOrStdout(), g, p.Name, steps, nil)
		return nil
	}
	eg, ctx := errgroup.WithContext(ctx)
	if g.parallel > 0 {
		eg.SetLimit(g.parallel)
	}
	var (
		mu        sync.Mutex // guards following
		warnings  []error
		mustBuild []string
	)
	for _, key := range order {
		s := images[key]
		eg.Go(func() error {
			err := rt.Pull(ctx, key.image, key.platform)
			if err == nil {
				return nil
			}
			err = fmt.Errorf("service %q: %w", s.Name, err)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case s.HasBuild:
				// It can be built instead, so its failure is a warning.
				mustBuild = append(mustBuild, s.Name)
				warnings = append(warnings, err)
			case opts.ignoreFailures:
				warnings = append(warnings, err)
			default:
				return err
			}
			return nil
		})
	}
	err = eg.Wait()
	for _, e := range warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "WARN: %v\n", e)
	}
	if len(mustBuild) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "WARNING: Some service image(s) must be built from source by running:\n    berth build %s\n", strings.Join(mustBuild, " "))
	}
	return err
}
