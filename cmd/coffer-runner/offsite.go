package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/offsite"
	"github.com/coffer-dev/coffer/internal/retention"
	"github.com/coffer-dev/coffer/internal/runner"
)

func newOffsiteCommand(g *globals) *cobra.Command {
	var noPrune bool
	var grace, inFlight time.Duration
	cmd := &cobra.Command{
		Use:   "offsite",
		Short: "Copy the backups the offsite copy lacks, then apply the offsite retention",
		Long: `Copy every committed backup that the storage's offsite copy (spec.offsite)
lacks and would keep, byte for byte, checking each object's size and sha256
against the manifest (format 2: each chunk the offsite copy lacks, once, checking
its stored size); the manifest is copied last, so an interrupted copy is
never visible offsite, and the next run finishes it. Then retention is applied
to the offsite copy with its own keep-counts (retention.offsite). The daemon
does this after every backup; this command is for runners without a daemon.
It takes the definition's lease.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			if !r.HasOffsite() {
				return runner.ErrNoOffsite
			}
			ctx, release, err := g.holdLease(cmd.Context(), r)
			if err != nil {
				return err
			}
			defer release()
			rep, cerr := r.CopyOffsite(ctx, inFlight)
			for _, c := range rep.Copied {
				if c.Chunked {
					fmt.Fprintf(g.stdout, "copied   %s  %d bytes in %d chunk(s), %d chunk(s) already offsite\n", c.ID, c.Bytes, c.Chunks, c.Reused)
					continue
				}
				fmt.Fprintf(g.stdout, "copied   %s  %d bytes, %d object(s) already offsite\n", c.ID, c.Bytes, c.Reused)
			}
			for _, m := range rep.Waiting {
				fmt.Fprintf(g.stdout, "waiting  %s\n", m.ID)
			}
			fmt.Fprintf(g.stdout, "offsite holds %d backup(s); %d copied, %d waiting\n", rep.Offsite, len(rep.Copied), len(rep.Waiting))
			if noPrune || errors.Is(cerr, offsite.ErrForeignOffsite) {
				return cerr
			}
			g.from = v1alpha1.FromOffsite
			_, off, err := g.open(cmd.Context())
			if err != nil {
				return errors.Join(cerr, err)
			}
			defer off.Close()
			prep, perr := off.Prune(ctx, false, grace, inFlight)
			if prep != nil {
				printPrune(g, prep)
			}
			return errors.Join(cerr, perr)
		},
	}
	cmd.Flags().DurationVar(&g.leaseTTL, "lease-ttl", lease.DefaultTTL, "how long the lease lasts without renewal: a killed copy blocks the next run this long")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "copy only; do not apply the offsite retention")
	cmd.Flags().DurationVar(&inFlight, "in-flight-window", retention.DefaultInFlightWindow, "never delete backups younger than this")
	cmd.Flags().DurationVar(&grace, "orphan-grace", runner.DefaultOrphanGrace, "age after which objects without a manifest (interrupted copies) are swept offsite")
	return cmd
}
