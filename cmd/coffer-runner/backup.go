package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/runner"
)

func newBackupCommand(g *globals) *cobra.Command {
	var pin bool
	var ordered *string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Take one backup of every target now (on demand: kept by the manual retention rule; applies no retention)",
		Example: `  coffer-runner backup -f coffer.yaml
  coffer-runner backup -f coffer.yaml --pin   # before a migration: kept until unpinned`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			if err := applyOrderedResources(cfg, *ordered); err != nil {
				return err
			}
			ctx, release, err := g.holdLease(cmd.Context(), r)
			if err != nil {
				return err
			}
			defer release()
			m, err := r.Backup(ctx, runner.BackupRequest{Pinned: pin})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, m.ID)
			return nil
		},
	}
	ordered = addOrderedResourcesFlag(cmd)
	cmd.Flags().BoolVar(&pin, "pin", false, "commit the backup pinned: retention keeps it until the label is removed")
	return cmd
}
