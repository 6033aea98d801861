package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

type containerLsOptions struct {
	all, quiet, noTrunc bool
	format              string
	filters             []string
}

func newContainerLsCmd(g *globalOptions) *cobra.Command {
	opts := containerLsOptions{}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"ps", "list"},
		Short:   "List containers",
		Long: `List the running containers (all with -a) in docker's columns: CONTAINER ID,
IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES. As docker ps does, it lists
every container: the plain ones of berth container run, and the compose
projects' under their own names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runContainerLs(cmd, g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringArrayVarP(&opts.filters, "filter", "f", nil, "Filter: name=REGEXP, id=PREFIX, status=STATE, label=KEY[=VALUE], exited=CODE (repeatable: a key given twice matches either value, different keys all)")
	f.StringVar(&opts.format, "format", "table", `Output format: table, json (one object per line, docker's keys), or a Go template ("{{.Names}} {{.Status}}"; "table {{.ID}}\t{{.Names}}" adds a header)`)
	return cmd
}

// containerLsEntry is a row of container ls, with docker ps --format
// json's keys.
type containerLsEntry struct {
	Command      string `json:"Command"`
	CreatedAt    string `json:"CreatedAt"`
	ID           string `json:"ID"`
	Image        string `json:"Image"`
	Labels       string `json:"Labels"`
	LocalVolumes string `json:"LocalVolumes"`
	Mounts       string `json:"Mounts"`
	Names        string `json:"Names"`
	Networks     string `json:"Networks"`
	Ports        string `json:"Ports"`
	RunningFor   string `json:"RunningFor"`
	Size         string `json:"Size"`
	State        string `json:"State"`
	Status       string `json:"Status"`

	labels map[string]string
}

// Label is a label's value, for --format '{{.Label "x"}}'.
func (e containerLsEntry) Label(name string) string { return e.labels[name] }

// containerLsHeaders are docker's column headers of the fields.
var containerLsHeaders = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
	"Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
	"Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE", "State": "STATE",
}

func runContainerLs(cmd *cobra.Command, g *globalOptions, opts containerLsOptions) error {
	var tmpl *template.Template
	table := false
	switch format := opts.format; format {
	case "table", "", "json":
	default:
		if rest, ok := strings.CutPrefix(format, "table "); ok {
			table, format = true, rest
		}
		format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
		t, err := template.New("ls").Funcs(templateFuncs).Parse(format)
		if err != nil {
			return fmt.Errorf("container ls --format %q: %w: use table, json or a Go template such as '{{.Names}} {{.Status}}'", opts.format, err)
		}
		tmpl = t
	}
	match, err := containerFilter(opts.filters)
	if err != nil {
		return err
	}
	cs, err := g.allContainers(cmd.Context())
	if err != nil {
		return err
	}
	cs = slices.DeleteFunc(cs, func(c scheduler.Container) bool { return !match(c) })
	if len(opts.filters) > 0 {
		opts.all = opts.all || hasFilter(opts.filters, "status") || hasFilter(opts.filters, "exited")
	}
	nets, err := g.networks()
	if err != nil {
		return err
	}
	rows, err := containerLsRows(cs, opts, nets, supervisedProjects(g), time.Now())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch {
	case opts.quiet:
		for _, r := range rows {
			fmt.Fprintln(out, r.ID)
		}
		return nil
	case tmpl != nil:
		return writeContainerTemplate(out, tmpl, table, rows)
	case opts.format == "json":
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names)
	}
	return tw.Flush()
}

// supervisedProjects tells whether a project's daemon supervises it (its
// health is only as true as the supervision keeping it).
func supervisedProjects(g *globalOptions) func(project string) bool {
	known := map[string]bool{}
	return func(project string) bool {
		ok, seen := known[project]
		if !seen {
			pid := netbridge.DNSDaemonPID(g.namespaceRunDir(), project)
			ok = pid > 0 && runstate.IsSupervising(g.namespaceRunDir(), project, pid)
			known[project] = ok
		}
		return ok
	}
}

// containerLsRows are the rows of container ls, newest first as docker
// lists them.
func containerLsRows(cs []scheduler.Container, opts containerLsOptions, nets containerNetworkInfo,
	supervising func(string) bool, now time.Time) ([]containerLsEntry, error) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Created.After(cs[j].Created) })
	var rows []containerLsEntry
	for _, c := range cs {
		if !opts.all && c.State != scheduler.StateRunning && c.State != scheduler.StatePaused {
			continue
		}
		project := c.Labels.Project()
		pe := toPsEntry(c, project, supervising(project), now)
		bindings, err := nets.Ports(c.ID)
		if err != nil {
			return nil, err
		}
		eps, err := nets.Endpoints(c.ID)
		if err != nil {
			return nil, err
		}
		var networks []string
		for _, ep := range eps {
			networks = append(networks, ep.Network)
		}
		_, pe.Ports = publishers(bindings, c.Labels.Expose())
		var labels []string
		for k, v := range c.Labels {
			if !internalLabel(c, k) {
				labels = append(labels, k+"="+v)
			}
		}
		sort.Strings(labels)
		e := containerLsEntry{
			Command: pe.Command, CreatedAt: pe.CreatedAt, ID: scheduler.ContainerID(c), Image: c.Image,
			Labels: strings.Join(labels, ","), LocalVolumes: "0", Mounts: strings.Join(c.Volumes, ","), Names: c.Name,
			Networks: strings.Join(networks, ","), Ports: pe.Ports, RunningFor: pe.RunningFor, Size: "0B",
			State: string(c.State), Status: pe.Status, labels: c.Labels,
		}
		if len(c.Volumes) > 0 {
			e.LocalVolumes = fmt.Sprint(len(c.Volumes))
		}
		if !opts.noTrunc {
			e.ID = compose.ShortID(e.ID)
			if len(e.Command) > 22 {
				e.Command = e.Command[:20] + "…\""
			}
		}
		rows = append(rows, e)
	}
	return rows, nil
}

// internalLabel reports whether label key of c is berth's bookkeeping,
// which docker would not show: berth's own labels, and the compose labels
// of a plain container.
func internalLabel(c scheduler.Container, key string) bool {
	return strings.HasPrefix(key, compose.LabelPrefixBerth) || isPlain(c) && strings.HasPrefix(key, compose.LabelPrefixCompose)
}

// containerNetworkInfo is what container ls and inspect read of the
// network layer: a container's published ports and networks.
type containerNetworkInfo interface {
	Ports(container string) ([]netbridge.PortBinding, error)
	Endpoints(container string) ([]netbridge.NetworkEndpoint, error)
}

// writeContainerTemplate prints rows with a --format template; table
// adds docker's headers and aligns the columns.
func writeContainerTemplate(w io.Writer, tmpl *template.Template, table bool, rows []containerLsEntry) error {
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, containerLsHeaders); err != nil {
			return fmt.Errorf("container ls --format: %w", err)
		}
		fmt.Fprintln(out, buf.String())
	}
	for _, r := range rows {
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, r); err != nil {
			return fmt.Errorf("container ls --format: %w", err)
		}
		fmt.Fprintln(out, buf.String())
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// containerFilter reads container ls --filter values as docker ps does:
// values of one key match when any does, and every key must match.
func containerFilter(filters []string) (func(scheduler.Container) bool, error) {
	byKey := map[string][]func(scheduler.Container) bool{}
	for _, f := range filters {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("invalid filter %q: give KEY=VALUE, as name=web or status=exited", f)
		}
		var m func(scheduler.Container) bool
		switch key {
		case "name":
			re, err := regexp.Compile(value)
			if err != nil {
				return nil, fmt.Errorf("invalid filter %q: %w", f, err)
			}
			m = func(c scheduler.Container) bool { return re.MatchString(c.Name) }
		case "id":
			m = func(c scheduler.Container) bool { return strings.HasPrefix(scheduler.ContainerID(c), value) }
		case "status":
			if !slices.Contains([]string{"created", "running", "paused", "exited", "restarting", "removing", "dead"}, value) {
				return nil, fmt.Errorf("invalid filter %q: the status is created, running, paused, exited, restarting, removing or dead", f)
			}
			m = func(c scheduler.Container) bool { return string(c.State) == value }
		case "label":
			k, v, hasValue := strings.Cut(value, "=")
			m = func(c scheduler.Container) bool {
				got, ok := c.Labels[k]
				return ok && (!hasValue || got == v)
			}
		case "exited":
			code, err := strconv.Atoi(value)
			if err != nil {
				return nil, fmt.Errorf("invalid filter %q: the exit code is a number", f)
			}
			m = func(c scheduler.Container) bool { return c.State == scheduler.StateExited && c.ExitCode == code }
		default:
			return nil, fmt.Errorf("invalid filter %q: berth filters by name, id, status, label and exited", f)
		}
		byKey[key] = append(byKey[key], m)
	}
	return func(c scheduler.Container) bool {
		for _, ms := range byKey {
			if !slices.ContainsFunc(ms, func(m func(scheduler.Container) bool) bool { return m(c) }) {
				return false
			}
		}
		return true
	}, nil
}

// hasFilter reports whether the filters name key.
func hasFilter(filters []string, key string) bool {
	return slices.ContainsFunc(filters, func(f string) bool { return strings.HasPrefix(f, key+"=") })
}
