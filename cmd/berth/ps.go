package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

type psOptions struct {
	all      bool
	format   string
	quiet    bool
	services bool
	status   []string
	filter   string
	orphans  bool
	noTrunc  bool
}

func newPsCmd(g *globalOptions) *cobra.Command {
	opts := psOptions{}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List the project's containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPs(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Also show stopped containers, and the one-offs of berth run")
	f.StringVar(&opts.format, "format", "table", `Output format: table, json (one JSON object per line, as docker compose prints), or a Go template over the fields of the json output ("{{.Name}} {{.State}}"; "table {{.Name}}\t{{.Ports}}" adds a header and aligns the columns)`)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only print container IDs")
	f.BoolVar(&opts.services, "services", false, "Only print service names")
	f.StringArrayVar(&opts.status, "status", nil, "Only show containers in this state (created, running, paused, exited)")
	f.StringVar(&opts.filter, "filter", "", "Filter by a property: status=STATE (as --status)")
	f.BoolVar(&opts.orphans, "orphans", true, "Include containers of services not in the compose file")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate the COMMAND column")
	return cmd
}

// psEntry is a row of `ps --format json`, with docker compose's field names.
type psEntry struct {
	ID           string      `json:"ID"`
	Name         string      `json:"Name"`
	Names        string      `json:"Names"`
	Image        string      `json:"Image"`
	Command      string      `json:"Command"`
	Project      string      `json:"Project"`
	Service      string      `json:"Service"`
	CreatedAt    string      `json:"CreatedAt"`
	Created      int64       `json:"Created"`
	State        string      `json:"State"`
	Status       string      `json:"Status"`
	Health       string      `json:"Health"`
	ExitCode     int         `json:"ExitCode"`
	Publishers   []publisher `json:"Publishers"`
	Ports        string      `json:"Ports"`
	Labels       string      `json:"Labels"`
	LocalVolumes string      `json:"LocalVolumes"`
	Mounts       string      `json:"Mounts"`
	Networks     string      `json:"Networks"`
	RunningFor   string      `json:"RunningFor"`
	Size         string      `json:"Size"`
	// berth's own: the restarts its supervisor made, and the last
	// healthcheck results (as docker inspect's State.Health.Log).
	RestartCount int                     `json:"RestartCount"`
	HealthLog    []scheduler.ProbeResult `json:"HealthLog,omitempty"`

	labels map[string]string
}

// Label is the value of a label of the container, for ps --format
// '{{.Label "com.docker.compose.project"}}'.
func (e psEntry) Label(name string) string { return e.labels[name] }

type publisher struct {
	URL           string `json:"URL"`
	TargetPort    int    `json:"TargetPort"`
	PublishedPort int    `json:"PublishedPort"`
	Protocol      string `json:"Protocol"`
}

func runPs(cmd *cobra.Command, g *globalOptions, opts psOptions, services []string) error {
	if g.kube.Enabled() {
		return runKubePs(cmd, g, opts, services)
	}
	tmpl, err := psTemplate(opts.format)
	if err != nil {
		return err
	}
	if opts.filter != "" {
		key, value, ok := strings.Cut(opts.filter, "=")
		if !ok || key != "status" {
			return fmt.Errorf("ps --filter %q: the filter is status=STATE", opts.filter)
		}
		opts.status = append(opts.status, value)
	}
	p, rt, cs, err := g.projectContainers(cmd.Context(), services)
	if err != nil {
		return err
	}
	rt.Close()
	if !opts.orphans && len(p.Services) > 0 {
		cs = withoutOrphans(p, cs)
	}
	nets, err := g.networks()
	if err != nil {
		return err
	}
	now := time.Now()
	// Health is only as true as the supervision keeping it.
	pid := netbridge.DNSDaemonPID(g.namespaceRunDir(), p.Name)
	supervising := pid > 0 && runstate.IsSupervising(g.namespaceRunDir(), p.Name, pid)
	var rows []psEntry
	for _, c := range cs {
		if !keep(c, services, opts) {
			continue
		}
		e := toPsEntry(c, p.Name, supervising, now)
		bindings, err := nets.Ports(c.ID)
		if err != nil {
			return err
		}
		s := p.Service(c.Labels.Service())
		expose := c.Labels.Expose()
		if expose == nil && s != nil { // made before berth kept them
			expose = s.Expose
		}
		e.Publishers, e.Ports = publishers(bindings, expose)
		e.Networks, e.Mounts, e.LocalVolumes = serviceResources(s, c)
		rows = append(rows, e)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	if err := printPs(cmd.OutOrStdout(), rows, opts, tmpl); err != nil {
		return err
	}
	if opts.format == "table" && !opts.quiet && !opts.services && len(rows) > 0 {
		// The project's DNS server is berth's own process: say how it is, on
		// standard error, so that scripts reading the table are not disturbed.
		if pid > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "DNS server of project %s: running (pid %d); its log: berth logs --system\n", p.Name, pid)
			if !supervising {
				fmt.Fprintf(cmd.ErrOrStderr(), "Supervision of project %s: %s: healthchecks and restart policies are paused; berth up -d restarts it\n", p.Name, supervisionText(g.namespaceRunDir(), p.Name, pid))
			}
		} else if hasNetworks(rows) {
			fmt.Fprintf(cmd.ErrOrStderr(), "DNS server of project %s: not running: service names do not resolve; berth up -d starts it again\n", p.Name)
		}
	}
	return nil
}

// hasNetworks reports whether a listed container has a network namespace of
// its own (and so relies on the project's DNS server).
func hasNetworks(rows []psEntry) bool {
	for _, r := range rows {
		if strings.Contains(r.Labels, "berth.netns-path=") {
			return true
		}
	}
	return false
}

// keep says whether ps lists c: one-offs only with --all or --status, as
// docker compose does.
func keep(c scheduler.Container, services []string, opts psOptions) bool {
	if len(services) > 0 && !contains(services, c.Labels.Service()) {
		return false
	}
	if c.Labels.OneOff() && !opts.all && len(opts.status) == 0 {
		return false
	}
	if len(opts.status) > 0 {
		return contains(opts.status, string(c.State))
	}
	return opts.all || c.State == scheduler.StateRunning || c.State == scheduler.StatePaused
}

// supervisionText says how the project process pid's supervision is
// (its state is under runDir, the namespace's).
func supervisionText(runDir, project string, pid int) string {
	st, ok := runstate.ReadSupervision(runDir, project, pid)
	if !ok {
		return "state unknown"
	}
	return fmt.Sprintf("%s since %s", st.State, st.Since.Local().Format(time.DateTime))
}

func toPsEntry(c scheduler.Container, project string, supervising bool, now time.Time) psEntry {
	labels := make([]string, 0, len(c.Labels))
	for k, v := range c.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	e := psEntry{
		ID: c.ID, Name: c.Name, Names: c.Name, Image: c.Image,
		Command: fmt.Sprintf("%q", c.Command), Project: project, Service: c.Labels.Service(),
		CreatedAt: c.Created.Format("2006-01-02 15:04:05 -0700 MST"), Created: c.Created.Unix(),
		State: string(c.State), Status: statusText(c, now), ExitCode: c.ExitCode,
		Publishers: []publisher{}, Labels: strings.Join(labels, ","), LocalVolumes: "0",
		RunningFor: units.HumanDuration(now.Sub(c.Created)) + " ago", Size: "0B",
		RestartCount: c.Labels.RestartCount(), labels: c.Labels,
	}
	if h, ok := scheduler.ShownHealth(c, supervising, now); ok && c.State == scheduler.StateRunning {
		e.Health, e.HealthLog = string(h.Status), h.Log
		if h.Status == scheduler.HealthStarting || h.Status == scheduler.HealthUnknown {
			e.Status += " (health: " + string(h.Status) + ")"
		} else {
			e.Status += " (" + string(h.Status) + ")"
		}
	}
	return e
}

// statusText is docker's STATUS column: "Up 5 seconds", "Exited (0) 3 minutes ago", "Created".
func statusText(c scheduler.Container, now time.Time) string {
	switch c.State {
	case scheduler.StateRunning:
		if c.StartedAt.IsZero() {
			return "Up"
		}
		return "Up " + units.HumanDuration(now.Sub(c.StartedAt))
	case scheduler.StatePaused:
		return "Up " + units.HumanDuration(now.Sub(c.StartedAt)) + " (Paused)"
	case scheduler.StateExited:
		if c.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", c.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", c.ExitCode, units.HumanDuration(now.Sub(c.FinishedAt)))
	case scheduler.StateCreated:
		return "Created"
	}
	return string(c.State)
}

func printPs(w io.Writer, rows []psEntry, opts psOptions, tmpl *psFormat) error {
	switch {
	case opts.quiet:
		for _, r := range rows {
			fmt.Fprintln(w, r.ID)
		}
	case opts.services:
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.Service] {
				seen[r.Service] = true
				fmt.Fprintln(w, r.Service)
			}
		}
	case tmpl != nil:
		return tmpl.write(w, rows)
	case opts.format == "json":
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
		for _, r := range rows {
			command := r.Command
			if len(command) > 24 && !opts.noTrunc {
				command = command[:23] + "…\""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Image, command, r.Service, r.RunningFor, r.Status, r.Ports)
		}
		return tw.Flush()
	}
	return nil
}

// withoutOrphans leaves out the containers of services the compose file
// does not have (ps --orphans=false).
func withoutOrphans(p *compose.Project, cs []scheduler.Container) []scheduler.Container {
	var out []scheduler.Container
	for _, c := range cs {
		if p.Service(c.Labels.Service()) != nil || slices.Contains(p.DisabledServices, c.Labels.Service()) {
			out = append(out, c)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
