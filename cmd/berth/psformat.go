package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/scheduler"
)

// psFormat is a ps --format Go template, as docker compose takes them: a
// template over a row's fields ("{{.Name}}\t{{.State}}"), or one after
// "table ", which adds a header row and aligns the columns.
type psFormat struct {
	tmpl  *template.Template
	table bool
}

// psHeaders are the header names of the fields, as docker compose's ps
// prints them; a field not named here has an empty header.
var psHeaders = psHeader{
	"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Project": "PROJECT", "Service": "SERVICE",
	"Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
	"Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS",
	"Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Health": "HEALTH",
	"ExitCode": "EXIT CODE", "Publishers": "PUBLISHERS",
}

// psHeader is what the header row's template runs over.
type psHeader map[string]string

// Label is the header of a {{.Label "x"}} column.
func (psHeader) Label(string) string { return "LABEL" }

// psTemplate parses a ps --format value; nil for the built-in formats
// (table, json).
func psTemplate(format string) (*psFormat, error) {
	if format == "table" || format == "" || format == "json" {
		return nil, nil
	}
	f := &psFormat{}
	if rest, ok := strings.CutPrefix(format, "table "); ok {
		f.table, format = true, rest
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(format, " "))
	tmpl, err := template.New("ps").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("ps --format %q: %w: use table, json or a Go template such as '{{.Name}} {{.State}}'", format, err)
	}
	f.tmpl = tmpl
	return f, nil
}

// templateFuncs are the functions docker's templates offer.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSpace(buf.String()), nil
	},
	"split": strings.Split,
	"join":  strings.Join,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// write prints rows with the template, one line each.
func (f *psFormat) write(w io.Writer, rows []psEntry) error {
	out := w
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		if err := f.line(out, psHeaders); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := f.line(out, r); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func (f *psFormat) line(w io.Writer, data any) error {
	var buf bytes.Buffer
	if err := f.tmpl.Execute(&buf, data); err != nil {
		return fmt.Errorf("ps --format: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// publishers are a container's ports as docker compose's ps shows them:
// the ports it exposes without publishing them (expose:, with no host
// port: "80/tcp", consecutive ones as "8000-8002/tcp"), then its
// published ones ("0.0.0.0:8080->80/tcp").
func publishers(bindings []netbridge.PortBinding, expose []string) ([]publisher, string) {
	pubs := []publisher{}
	published := map[string]bool{}
	var mapped []string
	for _, b := range bindings {
		host := ""
		if b.HostIP.IsValid() {
			host = b.HostIP.String()
		}
		pubs = append(pubs, publisher{URL: host, TargetPort: int(b.ContainerPort), PublishedPort: int(b.HostPort), Protocol: b.Protocol})
		published[fmt.Sprintf("%d/%s", b.ContainerPort, b.Protocol)] = true
		mapped = append(mapped, b.String())
	}
	var exposed []publisher
	seen := map[string]bool{}
	for _, e := range expose {
		for _, p := range exposedPorts(e) {
			key := fmt.Sprintf("%d/%s", p.TargetPort, p.Protocol)
			if !published[key] && !seen[key] {
				seen[key] = true
				exposed = append(exposed, p)
			}
		}
	}
	sort.Slice(exposed, func(i, j int) bool {
		if exposed[i].Protocol != exposed[j].Protocol {
			return exposed[i].Protocol < exposed[j].Protocol
		}
		return exposed[i].TargetPort < exposed[j].TargetPort
	})
	var shown []string
	for i := 0; i < len(exposed); {
		j := i
		for j+1 < len(exposed) && exposed[j+1].Protocol == exposed[i].Protocol && exposed[j+1].TargetPort == exposed[j].TargetPort+1 {
			j++
		}
		if j == i {
			shown = append(shown, fmt.Sprintf("%d/%s", exposed[i].TargetPort, exposed[i].Protocol))
		} else {
			shown = append(shown, fmt.Sprintf("%d-%d/%s", exposed[i].TargetPort, exposed[j].TargetPort, exposed[i].Protocol))
		}
		i = j + 1
	}
	pubs = append(exposed, pubs...)
	return pubs, strings.Join(append(shown, mapped...), ", ")
}

// exposedPorts reads an expose: entry ("80", "80/udp", "8000-8002");
// one that does not parse shows nothing (the loader validated it).
func exposedPorts(e string) []publisher {
	ports, proto, ok := strings.Cut(e, "/")
	if !ok || proto == "" {
		proto = "tcp"
	}
	first, last, isRange := strings.Cut(ports, "-")
	lo, err := strconv.Atoi(first)
	if err != nil {
		return nil
	}
	hi := lo
	if isRange {
		if hi, err = strconv.Atoi(last); err != nil || hi < lo {
			return nil
		}
	}
	var out []publisher
	for p := lo; p <= hi; p++ {
		out = append(out, publisher{TargetPort: p, Protocol: proto})
	}
	return out
}

// serviceResources are the Networks, Mounts and LocalVolumes columns of
// a container of service s: the networks it joins, the volumes and host
// paths it mounts, and how many of those are local volumes. With no
// service (ps -p NAME without the compose file) only its named volumes
// are known.
func serviceResources(s *compose.Service, c scheduler.Container) (networks, mounts, local string) {
	var nets []string
	var ms []string
	volumes := 0
	if s == nil {
		s = &compose.Service{}
	}
	if s.NetworkMode == "" || strings.HasPrefix(s.NetworkMode, "bridge") {
		for _, n := range s.Networks {
			nets = append(nets, n.Name)
		}
	}
	for _, m := range s.Mounts {
		switch m.Type {
		case compose.MountVolume:
			volumes++
			if m.Source != "" {
				ms = append(ms, m.Source)
			}
		case compose.MountBind:
			ms = append(ms, m.Source)
		}
	}
	// A one-off's run -v volumes are not the service's.
	for _, v := range c.Volumes {
		if !contains(ms, v) {
			volumes++
			ms = append(ms, v)
		}
	}
	return strings.Join(nets, ","), strings.Join(ms, ","), strconv.Itoa(volumes)
}
