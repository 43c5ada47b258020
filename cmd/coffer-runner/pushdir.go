package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/engine/volume"
)

// newPushDirCommand is what a volume's reader pod runs: tar a mounted
// directory (the filesystem engine's format) and PUT it to the runner's push
// session. The session URL holds its token, so it comes from a file (a
// mounted Secret), never from arguments or environment.
func newPushDirCommand(g *globals) *cobra.Command {
	var dir, urlFile string
	var excludes []string
	cmd := &cobra.Command{
		Use:    "push-dir",
		Short:  "Stream a directory as a tar to a runner's push session (run by volume reader pods)",
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
			n, err := volume.Push(cmd.Context(), &filesystem.Engine{Log: log}, dir, excludes, base)
			if err != nil {
				return err
			}
			log.Info("volume pushed", "dir", dir, "bytes", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to stream (the mounted volume)")
	cmd.Flags().StringVar(&urlFile, "url-file", "", "file holding the push session URL")
	cmd.Flags().StringSliceVar(&excludes, "exclude", nil, "glob pattern relative to --dir to leave out; repeatable")
	return cmd
}
