package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/berth/berth/imageview"
	"github.com/berth/berth/scheduler"
)

type imageInspectOptions struct {
	format   string
	platform string
}

func newImageInspectCmd(g *globalOptions) *cobra.Command {
	opts := imageInspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE...",
		Short: "Show images' details as JSON",
		Long: `Print a JSON array with one object per image, with docker image inspect's
fields (Id, RepoTags, RepoDigests, Created, Config, RootFS, Architecture, Os,
Size …), or with --format a Go template run on each. Of a multi-platform
image, the platform berth runs (this host's when stored), or --platform's.`,
		Example: `  berth image inspect my-app
  berth image inspect --format '{{.Id}} {{json .Config.Env}}' my-app`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageInspect(cmd, g, opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format each image with a Go template (docker's functions: json, join, upper …), or json")
	cmd.Flags().StringVar(&opts.platform, "platform", "", "Inspect this platform (os/arch[/variant]: linux/arm64) of a multi-platform image")
	return cmd
}

func runImageInspect(cmd *cobra.Command, g *globalOptions, opts imageInspectOptions, refs []string) error {
	var tmpl *template.Template
	if opts.format != "" && opts.format != "json" {
		t, err := template.New("inspect").Funcs(templateFuncs).Parse(opts.format)
		if err != nil {
			return fmt.Errorf("image inspect --format %q: %w", opts.format, err)
		}
		tmpl = t
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	all, err := rt.LocalImages(ctx)
	if err != nil {
		return err
	}
	var (
		found []imageview.Inspect
		errs  []error
	)
	for _, ref := range refs {
		names, err := imageview.Find(all, ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("image inspect: %w", err))
			continue
		}
		group := imageview.NamesOf(all, names[0].ID)
		if opts.platform != "" {
			img, err := rt.ImageForPlatform(ctx, names[0].Name, opts.platform)
			if err != nil {
				errs = append(errs, fmt.Errorf("image inspect: %w", err))
				continue
			}
			// The platform's config and layers, the names of the image.
			others := group
			group = []imageview.Image{img}
			for _, n := range others {
				if n.Name != img.Name {
					group = append(group, n)
				}
			}
		}
		found = append(found, imageview.InspectOf(group))
	}
	out := cmd.OutOrStdout()
	if tmpl == nil {
		b, err := json.MarshalIndent(found, "", "    ")
		if err != nil {
			return err
		}
		if found == nil {
			b = []byte("[]")
		}
		fmt.Fprintf(out, "%s\n", b)
		return errors.Join(errs...)
	}
	for _, img := range found {
		b, err := execInspectTemplate(tmpl, img)
		if err != nil {
			return fmt.Errorf("image inspect --format: %w", err)
		}
		out.Write(append(b, '\n')) //nolint:errcheck // as fmt.Fprint's
	}
	return errors.Join(errs...)
}

// execInspectTemplate runs the template on v, or as docker does when
// that fails, on v's JSON (so that {{.Id}} names the JSON key "Id").
func execInspectTemplate(tmpl *template.Template, v any) ([]byte, error) {
	var buf bytes.Buffer
	err := tmpl.Execute(&buf, v)
	if err == nil {
		return buf.Bytes(), nil
	}
	raw, jerr := json.Marshal(v)
	if jerr != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil, err
	}
	strict, cerr := tmpl.Clone()
	if cerr != nil {
		return nil, err
	}
	buf.Reset()
	if strict.Option("missingkey=error").Execute(&buf, m) != nil {
		return nil, err // the struct's error names the field
	}
	return buf.Bytes(), nil
}
