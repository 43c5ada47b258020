package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/engine/volume"
)

// newPullDirCommand is what a volume's writer pod runs: fetch the restore
// stream from the runner's session, extract it into the mounted directory,
// and report the outcome back, so the runner's Restore ends only when the
// data is on the volume.
func newPullDirCommand(g *globals) *cobra.Command {
	var dir, urlFile string
	var clean bool
	cmd := &cobra.Command{
		Use:    "pull-dir",
		Short:  "Restore a directory from a runner's restore session (run by volume writer pods)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || urlFile == "" {
				return usageError{errors.New("--dir and --url-file are required")}
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			base, err := volume.SessionURL(urlFile)
			if err != nil {
				return err
			}
			return volume.Pull(cmd.Context(), &filesystem.Engine{Log: log}, dir, clean, base)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to restore into (the mounted volume)")
	cmd.Flags().StringVar(&urlFile, "url-file", "", "file holding the restore session URL")
	cmd.Flags().BoolVar(&clean, "clean", false, "replace what the directory holds")
	return cmd
}
