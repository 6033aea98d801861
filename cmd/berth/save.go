package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

type saveOptions struct {
	output   string
	platform string
}

func newSaveCmd(g *globalOptions) *cobra.Command {
	opts := saveOptions{}
	cmd := &cobra.Command{
		Use:   "save -o FILE IMAGE...",
		Short: "Write images to an OCI archive that `berth load` reads",
		Long: `Write local images, with every platform of them that is stored (or only
--platform's), to one OCI archive: carry it to an offline machine and ` + "`berth load -i FILE`" + ` it there.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSave(cmd, g, opts, args)
		},
	}
	addSaveFlags(cmd, &opts)
	return cmd
}

// addSaveFlags adds the flags of save and image save.
func addSaveFlags(cmd *cobra.Command, opts *saveOptions) {
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "Archive to write (required)")
	cmd.Flags().StringVar(&opts.platform, "platform", "", "Save only this platform (os/arch[/variant]: linux/arm64) of the images; each must hold it")
}

func runSave(cmd *cobra.Command, g *globalOptions, opts saveOptions, images []string) (retErr error) {
	if opts.output == "" {
		return errors.New("save: give the archive to write with -o FILE")
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	// Written next to the target and renamed, so that a failed save leaves
	// no half archive behind.
	tmp, err := os.CreateTemp(filepath.Dir(opts.output), ".berth-save-*")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.Remove(tmp.Name())
		}
	}()
	if err := rt.SavePlatform(ctx, tmp, opts.platform, images...); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := os.Rename(tmp.Name(), opts.output); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}
