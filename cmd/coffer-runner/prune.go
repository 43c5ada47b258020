package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/retention"
	"github.com/coffer-dev/coffer/internal/runner"
)

func newPruneCommand(g *globals) *cobra.Command {
	var dryRun bool
	var grace, inFlight time.Duration
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Apply retention now: print what is kept and deleted, with the reason for each",
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
			rep, err := r.Prune(ctx, dryRun, grace, inFlight)
			if rep != nil {
				printPrune(g, rep)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "decide and print, delete nothing")
	cmd.Flags().DurationVar(&inFlight, "in-flight-window", retention.DefaultInFlightWindow, "never delete backups younger than this")
	cmd.Flags().DurationVar(&grace, "orphan-grace", runner.DefaultOrphanGrace, "age after which objects without a manifest are swept")
	return cmd
}

func printPrune(g *globals, rep *runner.PruneReport) {
	verb := "DELETE"
	if rep.DryRun {
		verb = "would delete"
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKUP\tSTATUS\tACTION\tREASON")
	for _, d := range rep.Plan.Keep {
		fmt.Fprintf(tw, "%s\t%s\tkeep\t%s\n", d.ID, d.Status, strings.Join(d.Reasons, "; "))
	}
	for _, d := range rep.Plan.Delete {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.ID, d.Status, verb, strings.Join(d.Reasons, "; "))
	}
	tw.Flush()
	for _, w := range rep.Plan.Warnings {
		fmt.Fprintln(g.stdout, "warning:", w)
	}
	for _, k := range rep.Swept {
		fmt.Fprintf(g.stdout, "%s orphaned object %s\n", strings.ToLower(verb[:1])+verb[1:], k)
	}
	if n := len(rep.SweptChunks); n > 0 {
		fmt.Fprintf(g.stdout, "%s %d unreferenced chunk(s) of format 2 backups\n", strings.ToLower(verb), n)
	}
	fmt.Fprintf(g.stdout, "kept %d, %s %d backup(s), %d orphaned object(s)\n", len(rep.Plan.Keep), strings.ToLower(verb), len(rep.Plan.Delete), len(rep.Swept))
}
