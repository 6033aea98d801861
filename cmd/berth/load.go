package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type loadOptions struct {
	input string
	quiet bool
}

func newLoadCmd(g *globalOptions) *cobra.Command {
	opts := loadOptions{}
	cmd := &cobra.Command{
		Use:   "load [-i ARCHIVE]",
		Short: "Load images from an OCI or `docker save` archive",
		Long: `Load the images of an archive into berth's containerd namespace: an OCI image
layout tar (skopeo copy ... oci-archive:X, scripts/busybox-image.sh) or a
"docker save" tar. Reads standard input when -i is not given. This is how
images reach machines that cannot pull. Every platform the archive holds is
kept; the one berth runs (this host's, else one emulated here) is unpacked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd, g, opts)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

// addFlags adds load's flags to cmd (load and image load).
func (o *loadOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.input, "input", "i", "", "Read from this archive instead of standard input")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Print nothing")
}

func runLoad(cmd *cobra.Command, g *globalOptions, opts loadOptions) error {
	var r io.Reader = os.Stdin
	if opts.input != "" {
		f, err := os.Open(opts.input)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer f.Close()
		r = f
	} else if term.IsTerminal(int(os.Stdin.Fd())) {
		return errors.New("load: give an archive with -i FILE, or pipe one to standard input")
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, nil)
	if err != nil {
		return err
	}
	defer rt.Close()
	names, err := rt.Load(ctx, r)
	if err != nil {
		if opts.input != "" {
			return fmt.Errorf("%s: %w", opts.input, err)
		}
		return err
	}
	if !opts.quiet {
		for _, n := range names {
			fmt.Fprintf(cmd.OutOrStdout(), "Loaded image: %s\n", n)
		}
	}
	return nil
}
