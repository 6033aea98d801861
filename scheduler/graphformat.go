package scheduler

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the graph as trees a person reads in a terminal: one
// from each service nothing depends on, down to what it depends on, each
// edge with its condition. A service already shown with its dependencies
// is not expanded again ("see above"); the edges of v.Cycle, and any edge
// back into the path being shown, are marked "cycle", and the latter is
// not followed. The networks
// and volumes follow, each with the services that use it.
func (v *GraphView) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	expanded := map[string]bool{}
	onPath := map[string]bool{}
	var walk func(name, indent string)
	walk = func(name, indent string) {
		s := v.service(name)
		if s == nil {
			return
		}
		expanded[name] = true
		onPath[name] = true
		defer delete(onPath, name)
		for i, e := range s.DependsOn {
			branch, next := "├── ", "│   "
			if i == len(s.DependsOn)-1 {
				branch, next = "└── ", "    "
			}
			notes := edgeNotes(e)
			dep := v.service(e.Service)
			if e.InCycle || onPath[e.Service] {
				notes = append(notes, "cycle")
			}
			follow := dep != nil && !onPath[e.Service]
			if follow && expanded[e.Service] && len(dep.DependsOn) > 0 {
				notes = append(notes, "see above")
				follow = false
			}
			fmt.Fprintf(bw, "%s%s%s (%s)\n", indent, branch, e.Service, strings.Join(notes, ", "))
			if follow {
				walk(e.Service, indent+next)
			}
		}
	}
	roots := v.Roots()
	for i := 0; i <= len(v.Services); i++ {
		for _, r := range roots {
			if !expanded[r] {
				fmt.Fprintln(bw, r)
				walk(r, "")
			}
		}
		// What the roots do not reach lies on a cycle: start from the
		// first such service in name order, then look again.
		roots = nil
		for _, s := range v.Services {
			if !expanded[s.Name] {
				roots = []string{s.Name}
				break
			}
		}
		if roots == nil {
			break
		}
	}
	v.writeResourcesText(bw, "networks", v.Networks, func(s GraphService) []string { return s.Networks })
	v.writeResourcesText(bw, "volumes", v.Volumes, func(s GraphService) []string { return s.Volumes })
	return bw.Flush()
}

// edgeNotes say what an edge is: its condition, what departs from the
// defaults, and what makes it besides depends_on.
func edgeNotes(e GraphEdge) []string {
	notes := []string{string(e.Condition)}
	if !e.Required {
		notes = append(notes, "required: false")
	}
	if e.Restart {
		notes = append(notes, "restart: true")
	}
	for _, k := range e.Via {
		switch k {
		case EdgeNetworkMode:
			notes = append(notes, "network_mode: service:"+e.Service)
		case EdgeVolumesFrom:
			notes = append(notes, "volumes_from")
		}
	}
	if !e.Enabled {
		notes = append(notes, "not enabled by the active profiles")
	}
	return notes
}

func (v *GraphView) writeResourcesText(w io.Writer, title string, rs []GraphResource, of func(GraphService) []string) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, r := range rs {
		var users []string
		for _, s := range v.Services {
			if contains(of(s), r.Key) {
				users = append(users, s.Name)
			}
		}
		name := r.Key
		if r.External {
			name += " (external: " + r.Name + ")"
		}
		if len(users) == 0 {
			users = []string{"no service"}
		}
		fmt.Fprintf(w, "  %s: %s\n", name, strings.Join(users, ", "))
	}
}

// WriteDOT writes the graph in graphviz's DOT language: a box for each
// service, an arrow from a service to each it depends on labelled with the
// condition (dashed when required is false, bold with "restart: true" when
// set, red for the edges of a cycle), a dotted box for a service the
// active profiles do not enable; networks are ellipses and named volumes
// cylinders, joined to their services by dotted lines.
func (v *GraphView) WriteDOT(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "digraph %s {\n", dotID(v.Project))
	fmt.Fprintln(bw, "\tnode [shape=box, style=rounded];")
	disabled := map[string]bool{}
	for _, s := range v.Services {
		fmt.Fprintf(bw, "\t%s;\n", dotID(s.Name))
		for _, e := range s.DependsOn {
			if !e.Enabled {
				disabled[e.Service] = true
			}
		}
	}
	for _, name := range sortedKeys(disabled) {
		fmt.Fprintf(bw, "\t%s [label=%s, style=\"rounded,dotted\", color=gray50, fontcolor=gray50];\n", dotID(name), dotID(name+"\n(not enabled)"))
	}
	for _, s := range v.Services {
		for _, e := range s.DependsOn {
			notes := edgeNotes(e)
			if !e.Enabled {
				notes = notes[:len(notes)-1] // the node says it
			}
			attrs := []string{"label=" + dotID(strings.Join(notes, "\n"))}
			var styles []string
			if !e.Required {
				styles = append(styles, "dashed")
			}
			if e.Restart {
				styles = append(styles, "bold")
			}
			if len(styles) > 0 {
				attrs = append(attrs, "style="+dotID(strings.Join(styles, ",")))
			}
			if e.InCycle {
				attrs = append(attrs, "color=red", "fontcolor=red")
			}
			fmt.Fprintf(bw, "\t%s -> %s [%s];\n", dotID(s.Name), dotID(e.Service), strings.Join(attrs, ", "))
		}
	}
	v.writeResourcesDOT(bw, "network", "ellipse", v.Networks, func(s GraphService) []string { return s.Networks })
	v.writeResourcesDOT(bw, "volume", "cylinder", v.Volumes, func(s GraphService) []string { return s.Volumes })
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

func (v *GraphView) writeResourcesDOT(w io.Writer, kind, shape string, rs []GraphResource, of func(GraphService) []string) {
	for _, r := range rs {
		label := kind + " " + r.Key
		if r.External {
			label += "\n(external: " + r.Name + ")"
		}
		fmt.Fprintf(w, "\t%s [label=%s, shape=%s, style=solid];\n", dotID(kind+":"+r.Key), dotID(label), shape)
	}
	for _, s := range v.Services {
		for _, key := range of(s) {
			fmt.Fprintf(w, "\t%s -> %s [style=dotted, arrowhead=none];\n", dotID(s.Name), dotID(kind+":"+key))
		}
	}
}

// dotID quotes s as a DOT ID; a newline in s is a line break in a label.
func dotID(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// WriteJSON writes the graph as indented JSON: GraphView's schema.
func (v *GraphView) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
