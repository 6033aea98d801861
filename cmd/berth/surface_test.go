package main

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// composeGaps are docker compose's commands and flags berth does not have,
// each with the reason. TestComposeSurface fails when one is missing from
// berth without being listed here, and when one listed here is no longer
// missing: the list is what berth lacks, always.
var composeGaps = map[string]string{
	"bridge": "compose bridge converts to Kubernetes through Docker Desktop extensions; berth convert kubernetes is issue 18",
}

// TestComposeSurface checks that every command and flag of docker compose
// (testdata/compose-cli.txt, from compose's own reference) is one of
// berth's, with the same shorthand, or is a known gap.
func TestComposeSurface(t *testing.T) {
	f, err := os.Open("testdata/compose-cli.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := newRootCmd()
	var missing, wrongShort []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		path, rest := fields[0], fields[1:]
		key := path
		if len(rest) > 0 {
			key += " " + rest[0]
		}
		seen[key] = true
		cmd := findCommand(root, path)
		gap, known := composeGaps[key]
		switch {
		case cmd == nil && len(rest) > 0:
			// The command's own line says it.
			continue
		case cmd == nil:
			if !known {
				missing = append(missing, key)
			}
			continue
		case len(rest) == 0:
			if known {
				t.Errorf("%q is listed as a gap (%s) but berth has it: remove it from composeGaps", key, gap)
			}
			continue
		}
		flag := lookupFlag(cmd, strings.TrimPrefix(rest[0], "--"))
		switch {
		case flag == nil && !known:
			missing = append(missing, key)
		case flag != nil && known:
			t.Errorf("%q is listed as a gap (%s) but berth has it: remove it from composeGaps", key, gap)
		case flag != nil && len(rest) > 1 && flag.Shorthand != strings.TrimPrefix(rest[1], "-"):
			wrongShort = append(wrongShort, key+" "+rest[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for key := range composeGaps {
		if !seen[key] {
			t.Errorf("composeGaps lists %q, which docker compose does not have", key)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("docker compose has %q; berth does not (add it, or list it in composeGaps with the reason)", m)
	}
	for _, w := range wrongShort {
		t.Errorf("docker compose has %q; berth's shorthand differs", w)
	}
}

// findCommand is the command at path ("." the root, "alpha scale" a
// subcommand), by name or alias.
func findCommand(root *cobra.Command, path string) *cobra.Command {
	if path == "." {
		return root
	}
	cmd := root
	for _, name := range strings.Split(path, " ") {
		var next *cobra.Command
		for _, c := range cmd.Commands() {
			if c.Name() == name || c.HasAlias(name) {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		cmd = next
	}
	return cmd
}

// lookupFlag finds a flag of cmd, its own or inherited from its parents.
func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	for c := cmd; c != nil; c = c.Parent() {
		if f := c.PersistentFlags().Lookup(name); f != nil {
			return f
		}
	}
	return nil
}
