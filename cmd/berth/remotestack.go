package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/compose-spec/compose-go/v2/template"

	"github.com/berth/berth/compose"
)

// remoteFile is the first compose file when it comes from a registry
// (-f oci://REPO, or the first of COMPOSE_FILE), else "".
func (o *globalOptions) remoteFile() string {
	files := o.files
	if len(files) == 0 {
		if v := os.Getenv("COMPOSE_FILE"); v != "" {
			sep := os.Getenv("COMPOSE_PATH_SEPARATOR")
			if sep == "" {
				sep = string(os.PathListSeparator)
			}
			files = strings.Split(v, sep)
		}
	}
	if len(files) > 0 && strings.HasPrefix(files[0], compose.OCIPrefix) {
		return files[0]
	}
	return ""
}

// checkRemoteStack is what docker compose does before up or run of a
// project from a registry: it says where the stack's files are kept, and
// unless -y shows the variables the files use, with the values they will
// get, and asks to go on (yes by default on a terminal; from a pipe a line
// must say yes, as with docker compose). A project from local files passes.
func (o *globalOptions) checkRemoteStack(ctx context.Context, stdin io.Reader, stdout io.Writer, stdinIsTerminal bool, p *compose.Project) error {
	remote := o.remoteFile()
	if remote == "" {
		return nil
	}
	if o.progress != "quiet" && o.progress != "json" {
		fmt.Fprintf(stdout, "Your compose stack %q is stored in %q\n", remote, p.WorkingDir)
	}
	if o.assumeYes {
		return nil
	}
	model, err := compose.LoadModel(ctx, o.composeOptions())
	if err != nil {
		return err
	}
	vars := template.ExtractVariables(model, template.DefaultPattern)
	if len(vars) == 0 {
		return nil
	}
	printRemoteVariables(stdout, vars, os.LookupEnv)
	question := "\nDo you want to proceed with these variables? [Y/n]: "
	fmt.Fprint(stdout, question)
	answer, err := readAnswer(stdin)
	if err != nil {
		return err
	}
	yes := answer == "y" || answer == "yes" || answer == "true"
	if stdinIsTerminal && answer == "" {
		yes = true
	}
	if !yes {
		return errors.New("operation cancelled by user (the project comes from " + remote + ": check its variables above, then answer y, or run again with -y)")
	}
	return nil
}

// printRemoteVariables prints docker compose's table of a remote stack's
// variables: the value each gets (the environment's, else the file's
// default) and where it comes from.
func printRemoteVariables(w io.Writer, vars map[string]template.Variable, lookup func(string) (string, bool)) {
	fmt.Fprintln(w, "\nFound the following variables in configuration:")
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tVALUE\tSOURCE\tREQUIRED\tDEFAULT")
	for _, name := range names {
		v := vars[name]
		value, source := "<unset>", "none"
		if env, ok := lookup(name); ok {
			value, source = env, "environment"
		} else if v.DefaultValue != "" {
			value, source = v.DefaultValue, "compose file"
		}
		required := "no"
		if v.Required {
			required = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, value, source, required, v.DefaultValue)
	}
	tw.Flush()
}

// readAnswer reads one line of answer, trimmed and lower-cased; end of
// input is an empty answer.
func readAnswer(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read the answer: %w", err)
		}
	}
	return strings.ToLower(strings.TrimSpace(b.String())), nil
}
