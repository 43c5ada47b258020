package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newBackupCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup",
		Short: "Take one backup of every target now (single backup mode: no labels, no retention)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			ctx, release, err := g.holdLease(cmd.Context(), r)
			if err != nil {
				return err
			}
			defer release()
			m, err := r.Backup(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, m.ID)
			return nil
		},
	}
}
