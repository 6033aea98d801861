package systemd

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Unit is the systemd service that brings one project up at boot: a
// oneshot that runs berth up -d, and berth stop when it is stopped.
type Unit struct {
	// Project is the project's name.
	Project string
	// Berth is the absolute path of the berth executable.
	Berth string
	// Files are the absolute compose files, in merge order.
	Files []string
	// ProjectDir is the absolute project directory.
	ProjectDir string
	// EnvFiles are the absolute --env-file files; none means the project
	// directory's .env, which berth reads by itself.
	EnvFiles []string
	// Profiles are the active profiles.
	Profiles []string
	// GlobalArgs are further global flags, in order (--address,
	// --namespace, --insecure-registry and their values).
	GlobalArgs []string
	// Environment are variables berth reads, as KEY=VALUE, that the unit
	// sets: a system service starts with next to no environment.
	Environment []string
}

// UnitName is the name of a project's unit: berth-<project>.service.
func UnitName(project string) string { return "berth-" + project + ".service" }

// Name is the unit's name.
func (u Unit) Name() string { return UnitName(u.Project) }

// check fails for a unit that cannot be written as asked.
func (u Unit) check() error {
	if u.Project == "" || strings.Trim(u.Project, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		return fmt.Errorf("project name %q: a unit needs a name of lowercase letters, digits, _ and -", u.Project)
	}
	paths := append([]string{u.Berth, u.ProjectDir}, u.Files...)
	paths = append(paths, u.EnvFiles...)
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%q is not an absolute path: a unit runs from no particular directory", p)
		}
	}
	if len(u.Files) == 0 {
		return errors.New("no compose file: a unit must name the project's files")
	}
	for _, s := range append(append(paths, u.GlobalArgs...), u.Environment...) {
		if strings.ContainsAny(s, "\n\r\x00") {
			return fmt.Errorf("%q: a line break has no place in a unit file", s)
		}
	}
	for _, kv := range u.Environment {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("environment %q: want KEY=VALUE", kv)
		}
	}
	return nil
}

// command is the berth command line that runs verb (up -d, stop) on the
// project, as the unit's Exec lines give it.
func (u Unit) command(verb ...string) string {
	args := append([]string{u.Berth}, u.GlobalArgs...)
	args = append(args, "-p", u.Project)
	for _, f := range u.Files {
		args = append(args, "-f", f)
	}
	args = append(args, "--project-directory", u.ProjectDir)
	for _, f := range u.EnvFiles {
		args = append(args, "--env-file", f)
	}
	for _, p := range u.Profiles {
		args = append(args, "--profile", p)
	}
	args = append(args, verb...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = quoteArg(a)
	}
	return strings.Join(quoted, " ")
}

// Render is the unit file's text.
func (u Unit) Render() (string, error) {
	if err := u.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# %s: brings the compose project %s up at boot.", u.Name(), u.Project)
	w(`# Written by "berth systemd install"; "berth systemd uninstall" removes it.`)
	w("[Unit]")
	w("Description=berth compose project %s", u.Project)
	w("Wants=network-online.target")
	// containerd.service when the host has one, berth.service when berth
	// was installed from a release archive (it starts berth's containerd):
	// berth uses it then, and must not start its own daemon because it is
	// not up yet.
	w("After=network-online.target containerd.service berth.service")
	w("")
	w("[Service]")
	w("Type=oneshot")
	w("RemainAfterExit=yes")
	w("WorkingDirectory=%s", escapeSpecifiers(u.ProjectDir))
	for _, kv := range u.Environment {
		w("Environment=%s", quoteEnv(kv))
	}
	w("ExecStart=%s", u.command("up", "-d"))
	w("ExecStop=%s", u.command("stop"))
	w("# berth's own containerd and the project's DNS daemon outlive the unit:")
	w("# other projects and berth commands share them.")
	w("KillMode=process")
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	return b.String(), nil
}

// escapeSpecifiers keeps systemd from expanding % specifiers in s.
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// quoteArg makes s one word of an Exec line, as systemd.service(5)
// splits them: specifiers (%) and variables ($) are escaped, and a word
// with blanks, quotes or backslashes is double-quoted with C escapes.
func quoteArg(s string) string {
	s = strings.ReplaceAll(escapeSpecifiers(s), "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`).Replace(s) + `"`
}

// quoteEnv makes an assignment of an Environment= line (where $ means
// nothing, but specifiers are expanded).
func quoteEnv(kv string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`).Replace(escapeSpecifiers(kv)) + `"`
}
