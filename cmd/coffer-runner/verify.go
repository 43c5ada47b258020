package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newVerifyCommand(g *globals) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Download, decrypt and decompress a backup and check every checksum, touching no database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return errNeedBackup
			}
			g.readingBackup = limitReadMemory
			_, r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			m, results, err := r.Verify(cmd.Context(), id)
			if err != nil {
				return err
			}
			var errs []error
			for _, res := range results {
				if res.Err != nil {
					fmt.Fprintf(g.stdout, "FAIL  %s  %s\n", res.Target, res.Object)
					errs = append(errs, res.Err)
					continue
				}
				fmt.Fprintf(g.stdout, "ok    %s  %s\n", res.Target, res.Object)
			}
			if len(errs) > 0 {
				return fmt.Errorf("backup %s failed verification: %w", m.ID, errors.Join(errs...))
			}
			fmt.Fprintf(g.stdout, "backup %s verified: %d target(s), all checksums match\n", m.ID, len(results))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "backup", "", "backup id, or latest (required)")
	g.addFromFlag(cmd)
	return cmd
}
