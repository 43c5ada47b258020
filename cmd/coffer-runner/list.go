package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/units"
)

// backupView is the JSON shape of one listed backup (`list -o json`).
type backupView struct {
	ID        string       `json:"id"`
	Status    string       `json:"status"`
	StartTime time.Time    `json:"startTime"`
	EndTime   time.Time    `json:"endTime"`
	Labels    []string     `json:"labels"`
	Targets   []targetView `json:"targets"`
}

type targetView struct {
	Name        string `json:"name"`
	Engine      string `json:"engine"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	PlainSize   int64  `json:"plainSize"`
	PlainSHA256 string `json:"plainSha256"`
	Object      string `json:"object"`
}

func viewOf(b runner.Listed) backupView {
	m := b.Manifest
	v := backupView{ID: m.ID, Status: string(m.Status), StartTime: m.StartTime, EndTime: m.EndTime, Labels: b.Labels}
	if v.Labels == nil {
		v.Labels = []string{}
	}
	for _, t := range m.Targets {
		v.Targets = append(v.Targets, targetView{Name: t.Name, Engine: t.Engine, Size: t.Size, SHA256: t.SHA256,
			PlainSize: t.PlainSize, PlainSHA256: t.PlainSHA256, Object: t.Object})
	}
	return v
}

func newListCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the committed backups of the definition, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usageError{fmt.Errorf("-o/--output must be table or json, not %q", output)}
			}
			_, r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			ms, listErr := r.Backups(cmd.Context())
			if listErr != nil && ms == nil {
				return listErr
			}
			if output == "json" {
				err = writeJSON(g.stdout, ms)
			} else {
				err = writeTable(g.stdout, ms)
			}
			if err != nil {
				return err
			}
			if listErr != nil {
				return fmt.Errorf("some backups could not be read: %w", listErr)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	g.addFromFlag(cmd)
	return cmd
}

func writeJSON(w io.Writer, ms []runner.Listed) error {
	views := make([]backupView, 0, len(ms))
	for _, m := range ms {
		views = append(views, viewOf(m))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(views)
}

func writeTable(w io.Writer, ms []runner.Listed) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSTARTED\tDURATION\tTARGETS\tSTORED\tLABELS")
	for _, m := range ms {
		var size int64
		names := make([]string, 0, len(m.Targets))
		for _, t := range m.Targets {
			size += t.Size
			names = append(names, t.Name)
		}
		labels := strings.Join(m.Labels, ",") // held time labels and user labels
		if labels == "" {
			labels = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, m.StartTime.Format(time.RFC3339),
			roundDuration(m.EndTime.Sub(m.StartTime)), strings.Join(names, ","), units.Bytes(size), labels)
	}
	return tw.Flush()
}

func roundDuration(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}
