package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// dryRunPrefix starts every line of a dry run's plan, as docker compose
// starts its dry run's progress lines.
const dryRunPrefix = "DRY-RUN MODE - "

// dryRunCommands are the commands that honour --dry-run: they print what
// they would do, with the reasons, and change nothing.
var dryRunCommands = map[string]bool{
	"up": true, "create": true, "scale": true, "down": true, "build": true, "pull": true, "push": true,
	"rm": true, "stop": true, "start": true, "restart": true, "kill": true, "pause": true, "unpause": true,
}

// readOnlyCommands change nothing in the first place: --dry-run leaves
// them as they are.
var readOnlyCommands = map[string]bool{
	"config": true, "ps": true, "ls": true, "logs": true, "port": true, "images": true,
	"top": true, "version": true, "events": true, "stats": true,
}

// checkDryRun refuses --dry-run for a command that would not honour it:
// it would act for real.
func checkDryRun(cmd *cobra.Command, dryRun bool) error {
	// cobra's own help and completion commands are added as berth runs.
	if !dryRun || cmd == cmd.Root() || cmd.Name() == "help" || cmd.Name() == "completion" || cmd.Parent() != nil && cmd.Parent().Name() == "completion" {
		return nil
	}
	top := cmd
	for top.Parent() != nil && top.Parent() != cmd.Root() {
		top = top.Parent()
	}
	if top.Parent() == cmd.Root() && top == cmd && (dryRunCommands[cmd.Name()] || readOnlyCommands[cmd.Name()]) {
		return nil
	}
	return fmt.Errorf("--dry-run is not supported by %s: it would act for real; the commands that show their plan instead are up, create, scale, down, build, pull, push, rm, stop, start, restart, kill, pause and unpause", cmd.CommandPath())
}

// dryRunStep is one line of a dry run's plan.
type dryRunStep struct {
	DryRun  bool   `json:"dry_run"`
	Action  string `json:"action"`
	Service string `json:"service,omitempty"`
	Name    string `json:"name"`
	Reason  string `json:"reason,omitempty"`
	// Text is the line as the plain output prints it, without the prefix.
	Text string `json:"text"`
}

// opStep says what op does in words: "recreate demo-web-1: config changed
// (environment)", "remove orphan demo-old-1", "create network demo_default".
func opStep(op scheduler.Op) dryRunStep {
	st := dryRunStep{DryRun: true, Action: string(op.Kind), Service: op.Service, Name: op.Name, Reason: op.Reason}
	verb := map[scheduler.OpKind]string{
		scheduler.OpEnsureImage: "pull", scheduler.OpPull: "pull", scheduler.OpCreate: "create",
		scheduler.OpRecreate: "recreate", scheduler.OpStart: "start", scheduler.OpRunning: "keep",
		scheduler.OpRemove: "remove", scheduler.OpRemoveVolume: "remove volume", scheduler.OpRemoveImage: "remove image",
		scheduler.OpCreateNetwork: "create network", scheduler.OpRemoveNetwork: "remove network",
		scheduler.OpCreateNetworks: "create the networks of project", scheduler.OpRemoveNetworks: "remove the networks of project",
		scheduler.OpDisconnect: "disconnect", scheduler.OpReconnect: "reconnect", scheduler.OpStop: "stop",
		scheduler.OpRestart: "restart", scheduler.OpRestartDependent: "restart", scheduler.OpKill: "kill",
		scheduler.OpPause: "pause", scheduler.OpUnpause: "unpause",
	}[op.Kind]
	if verb == "" {
		verb = string(op.Kind)
	}
	st.Text = verb + " " + op.Name
	switch {
	case (op.Kind == scheduler.OpPull || op.Kind == scheduler.OpEnsureImage) && op.Service != "":
		st.Text = fmt.Sprintf("pull %s (service %s)", op.Name, op.Service)
	case op.Kind == scheduler.OpBuild:
		st.Text = fmt.Sprintf("build %s (image %s)", op.Service, op.Name)
	case op.Kind == scheduler.OpRemove && op.Reason == "orphan":
		st.Text, st.Reason = "remove orphan "+op.Name, ""
	case op.Kind == scheduler.OpRunning:
		st.Reason = "running, up to date"
	case op.Kind == scheduler.OpReconnect && op.Reason == "":
		st.Reason = "its network was made again"
	}
	if st.Reason != "" {
		st.Text += ": " + st.Reason
	}
	return st
}

// planSteps are the plan's ops in the order they run: before the plan,
// the networks, the services in the plan's walk order along the project's
// dependencies (by name without a graph), then what comes after them.
func planSteps(plan *scheduler.Plan, graph *scheduler.Graph) []dryRunStep {
	var steps []dryRunStep
	for _, op := range append(append([]scheduler.Op(nil), plan.Before...), plan.Prepare...) {
		steps = append(steps, opStep(op))
	}
	names := make([]string, 0, len(plan.Services))
	for s := range plan.Services {
		names = append(names, s)
	}
	sort.Strings(names)
	if graph != nil {
		names = graph.WalkOrder(names, plan.Order)
	}
	for _, s := range names {
		for _, op := range plan.Services[s] {
			steps = append(steps, opStep(op))
		}
	}
	for _, op := range plan.Extra {
		steps = append(steps, opStep(op))
	}
	return steps
}

// printDryRun writes a dry run's steps on w, one a line: prefixed text,
// or with --progress json one JSON object a line; then the warnings, and
// a line saying when nothing would change.
func printDryRun(w io.Writer, g *globalOptions, project string, steps []dryRunStep, warnings []string) {
	changes := false
	for _, st := range steps {
		changes = changes || st.Action != string(scheduler.OpRunning)
	}
	if !changes {
		steps = append(steps, dryRunStep{DryRun: true, Action: "none", Name: project, Text: "nothing to do for project " + project})
	}
	for _, wn := range warnings {
		steps = append(steps, dryRunStep{DryRun: true, Action: "warning", Name: project, Reason: wn, Text: "warning: " + wn})
	}
	for _, st := range steps {
		if g.progress == "json" {
			b, _ := json.Marshal(st)
			fmt.Fprintf(w, "%s\n", b)
			continue
		}
		fmt.Fprintf(w, "%s%s\n", dryRunPrefix, st.Text)
	}
}

// printDryRunPlan prints the dry run of a plan for project p (see
// printDryRun), its services in the order the plan walks them.
func printDryRunPlan(cmd *cobra.Command, g *globalOptions, p *compose.Project, plan *scheduler.Plan) {
	graph, err := scheduler.NewGraph(p)
	if err != nil {
		graph = nil // the plan was made: a graph error is no news; by name then
	}
	printDryRun(cmd.OutOrStdout(), g, p.Name, planSteps(plan, graph), plan.Warnings)
}

// pushSteps are the pushes of the services' images push would do.
func pushSteps(services []*compose.Service) []dryRunStep {
	var steps []dryRunStep
	seen := map[string]bool{}
	for _, s := range services {
		for _, ref := range pushRefs(s, seen) {
			steps = append(steps, dryRunStep{DryRun: true, Action: "push", Service: s.Name, Name: ref, Text: "push " + ref})
		}
	}
	return steps
}

// dryRunUp prints the plan of up (or create) with uo's choices: the
// runtime and the network layer are only read (scheduler.DryRunUp).
func dryRunUp(cmd *cobra.Command, g *globalOptions, p *compose.Project, uo scheduler.UpOptions) error {
	ctx := cmd.Context()
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	if !uo.NoBuild {
		uo.Builder = rt // never called: it tells DryRunUp that up builds
	}
	uo.Confirm = g.confirmer(progress)
	plan, err := scheduler.DryRunUp(ctx, p, rt, networkReader(nw), uo)
	if err != nil {
		return err
	}
	printDryRunPlan(cmd, g, p, plan)
	return nil
}

// networkReader is the read-only part of the network layer a dry run
// is given; nil when it remembers no networks.
func networkReader(nw scheduler.Network) scheduler.NetworkReader {
	if r, ok := nw.(scheduler.NetworkReader); ok {
		return r
	}
	return nil
}
