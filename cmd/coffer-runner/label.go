package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newLabelCommand(g *globals) *cobra.Command {
	var id string
	var add, remove []string
	cmd := &cobra.Command{
		Use:   "label",
		Short: "Add or remove user labels of a backup (a pinned backup is never deleted by retention); takes the lease",
		Example: `  coffer-runner label -f coffer.yaml --backup 20261121T103000Z-k3f9 --add pinned
  coffer-runner label -f coffer.yaml --backup latest --remove pinned`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return errNeedBackup
			}
			if len(add) == 0 && len(remove) == 0 {
				return usageError{errors.New("nothing to do: give --add or --remove")}
			}
			_, r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			// Labels decide what retention deletes: a label change must not
			// race a runner's prune, so it takes the lease like every writer.
			ctx, release, err := g.holdLease(cmd.Context(), r)
			if err != nil {
				return err
			}
			defer release()
			m, err := r.Label(ctx, id, add, remove)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "backup %s labels: [%s]\n", m.ID, strings.Join(m.Labels, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "backup", "", "backup id, or latest (required)")
	cmd.Flags().StringSliceVar(&add, "add", nil, "user label to add (e.g. pinned); repeatable")
	cmd.Flags().StringSliceVar(&remove, "remove", nil, "user label to remove; repeatable")
	return cmd
}
