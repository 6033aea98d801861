package netbridge

import (
	"sort"
	"strings"
)

// linkSep joins a link's alias and target in the names the IPAM state
// keeps of a container: no DNS name has it, and berth versions that do
// not know links keep such names as they are when they rewrite the state.
const linkSep = ">"

// linkNames are links as names to keep with the container's.
func linkNames(links map[string]string) []string {
	out := make([]string, 0, len(links))
	for alias, target := range links {
		out = append(out, alias+linkSep+target)
	}
	sort.Strings(out)
	return out
}

// splitLinks separates the links from a container's kept names.
func splitLinks(kept []string) (names []string, links map[string]string) {
	for _, n := range kept {
		alias, target, ok := strings.Cut(n, linkSep)
		if !ok {
			names = append(names, n)
			continue
		}
		if links == nil {
			links = map[string]string{}
		}
		links[alias] = target
	}
	return names, links
}
