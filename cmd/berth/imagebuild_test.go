package main

import (
	"reflect"
	"strings"
	"testing"
	"text/template"

	"github.com/berth/berth/containerd"
)

func TestImageBuildSpec(t *testing.T) {
	t.Setenv("FROM_ENV", "env-value")
	tests := []struct {
		name      string
		opts      imageBuildOptions
		ctx       string
		inline    string
		fromStdin bool
		// want checks the spec; errHas the error instead.
		image, dockerfile string
		tags              []string
		args, labels      map[string]string
		dangling          bool
		errHas            string
	}{
		{name: "tag", opts: imageBuildOptions{tags: []string{"my-app"}}, ctx: "/src", image: "my-app"},
		{name: "two tags", opts: imageBuildOptions{tags: []string{"my-app:1", "127.0.0.1:5000/my-app:1"}}, ctx: "/src", image: "my-app:1", tags: []string{"127.0.0.1:5000/my-app:1"}},
		{name: "no tag", ctx: "/src", image: untaggedBuildName, dangling: true},
		{name: "relative -f from cwd", opts: imageBuildOptions{tags: []string{"a"}, file: "docker/Dockerfile.dev"}, ctx: "/src", image: "a", dockerfile: "/work/docker/Dockerfile.dev"},
		{name: "absolute -f", opts: imageBuildOptions{tags: []string{"a"}, file: "/etc/Dockerfile"}, ctx: "/src", image: "a", dockerfile: "/etc/Dockerfile"},
		{name: "-f in a stdin tar", opts: imageBuildOptions{tags: []string{"a"}, file: "../sub/Dockerfile"}, ctx: "/tmp/ctx", fromStdin: true, image: "a", dockerfile: "/tmp/ctx/sub/Dockerfile"},
		{name: "build args", opts: imageBuildOptions{tags: []string{"a"}, buildArgs: []string{"V=1", "FROM_ENV"}}, ctx: "/src", image: "a", args: map[string]string{"V": "1", "FROM_ENV": "env-value"}},
		{name: "labels", opts: imageBuildOptions{tags: []string{"a"}, labels: []string{"k=v", "empty"}}, ctx: "/src", image: "a", labels: map[string]string{"k": "v", "empty": ""}},
		{name: "invalid tag", opts: imageBuildOptions{tags: []string{"My-App"}}, errHas: `invalid argument "My-App" for "-t, --tag" flag: invalid reference format`},
		{name: "label without key", opts: imageBuildOptions{labels: []string{"=v"}}, errHas: `--label "=v": give KEY=VALUE`},
		{name: "-f with a Dockerfile on stdin", opts: imageBuildOptions{file: "x"}, inline: "FROM scratch", fromStdin: true, errHas: "drop -f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.opts.spec(tt.ctx, tt.inline, "/work", tt.fromStdin)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("spec(%+v) = %v, want one line with %q", tt.opts, err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("spec(%+v): %v", tt.opts, err)
			}
			s := b.service
			image := s.Image
			if _, err := containerd.NormalizeRef(image); err != nil {
				t.Errorf("spec(%+v) image %q: %v", tt.opts, image, err)
			}
			if tt.dangling && strings.HasPrefix(image, untaggedBuildName) {
				image = untaggedBuildName // and a random suffix
			}
			if image != tt.image || s.Build.Context != tt.ctx || s.Build.Dockerfile != tt.dockerfile || b.dangling != tt.dangling {
				t.Errorf("spec(%+v) = image %q context %q dockerfile %q dangling %v; want %q %q %q %v",
					tt.opts, s.Image, s.Build.Context, s.Build.Dockerfile, b.dangling, tt.image, tt.ctx, tt.dockerfile, tt.dangling)
			}
			if !reflect.DeepEqual(s.Build.Tags, tt.tags) {
				t.Errorf("spec(%+v) tags = %q, want %q", tt.opts, s.Build.Tags, tt.tags)
			}
			if len(tt.args) > 0 && !reflect.DeepEqual(s.Build.Args, tt.args) {
				t.Errorf("spec(%+v) args = %v, want %v", tt.opts, s.Build.Args, tt.args)
			}
			if !reflect.DeepEqual(s.Build.Labels, tt.labels) {
				t.Errorf("spec(%+v) labels = %v, want %v", tt.opts, s.Build.Labels, tt.labels)
			}
		})
	}
}

func TestImageBuildPassesTheRestThrough(t *testing.T) {
	opts := imageBuildOptions{tags: []string{"a"}, target: "dev", noCache: true, pull: true, platform: "linux/arm64"}
	b, err := opts.spec("/src", "", "/", false)
	if err != nil {
		t.Fatal(err)
	}
	if s := b.service; s.Build.Target != "dev" || !s.Build.NoCache || !s.Build.Pull || s.Platform != "linux/arm64" {
		t.Errorf("spec(%+v) = target %q no-cache %v pull %v platform %q", opts, s.Build.Target, s.Build.NoCache, s.Build.Pull, s.Platform)
	}
}

func TestImageCommandsParse(t *testing.T) {
	tests := []struct {
		args   []string
		errHas string
	}{
		{args: []string{"image", "build"}, errHas: "wants 1 argument(s), CONTEXT"},
		{args: []string{"image", "build", "a", "b"}, errHas: "got 2"},
		{args: []string{"image", "tag", "a"}, errHas: "SOURCE and TARGET"},
		{args: []string{"image", "push"}, errHas: "NAME"},
		{args: []string{"image", "history"}, errHas: "IMAGE"},
		{args: []string{"image", "rm"}, errHas: "requires at least 1 arg"},
		{args: []string{"image", "ls", "a", "b"}, errHas: "accepts at most 1 arg"},
		{args: []string{"image", "nope"}, errHas: `unknown command "nope" for "berth image"`},
		{args: []string{"image", "ls", "--format", "xml"}, errHas: `image ls --format "xml": use table or json`},
		{args: []string{"image", "history", "--format", "xml", "x"}, errHas: `use table or json`},
		{args: []string{"image", "inspect", "--format", "{{.Id", "x"}, errHas: "image inspect --format"},
	}
	for _, tt := range tests {
		cmd := newRootCmd()
		cmd.SetArgs(tt.args)
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("berth %s = %v, want an error with %q", strings.Join(tt.args, " "), err, tt.errHas)
		}
	}
}

func TestImageWithoutArgsShowsHelp(t *testing.T) {
	cmd := newRootCmd()
	var out strings.Builder
	cmd.SetArgs([]string{"image"})
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"build", "ls", "tag", "push", "pull", "rm", "inspect", "history", "save", "load", "prune"} {
		if !strings.Contains(out.String(), "  "+sub+" ") {
			t.Errorf("berth image help does not list %s:\n%s", sub, out.String())
		}
	}
}

func TestInspectTemplateFallsBackToJSONKeys(t *testing.T) {
	v := struct {
		ID   string `json:"Id"`
		Size int64
	}{"sha256:x", 1036076}
	tests := []struct{ format, want string }{
		{"{{.ID}}", "sha256:x"},
		{"{{.Id}} {{.Size}}", "sha256:x 1036076"},
	}
	for _, tt := range tests {
		tmpl := template.Must(template.New("t").Funcs(templateFuncs).Parse(tt.format))
		got, err := execInspectTemplate(tmpl, v)
		if err != nil || string(got) != tt.want {
			t.Errorf("execInspectTemplate(%q) = %q, %v; want %q", tt.format, got, err, tt.want)
		}
	}
	tmpl := template.Must(template.New("t").Parse("{{.Nope}}"))
	if _, err := execInspectTemplate(tmpl, v); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("execInspectTemplate({{.Nope}}) = %v, want the field named", err)
	}
}
