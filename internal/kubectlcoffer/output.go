package kubectlcoffer

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"
)

// Output formats of -o. A table's columns are stable: new columns are added
// at the end, never renamed or moved (docs/kubectl-plugin.md).
const (
	outTable = ""
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
	outName  = "name"
)

// none fills an empty cell, so every row has every column.
const none = "-"

func outputFlag(cmd *cobra.Command, dst *string, formats ...string) {
	cmd.Flags().StringVarP(dst, "output", "o", "", "output format: "+strings.Join(formats, ", ")+" (default: a table)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

func checkOutput(format string, formats ...string) error {
	if format == outTable || slices.Contains(formats, format) {
		return nil
	}
	return usageErr("use one of: "+strings.Join(formats, ", "), "-o %q is not an output format of this command", format)
}

// table is rows under a header, aligned as kubectl aligns them.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = none
		}
	}
	t.rows = append(t.rows, cells)
}

func (t *table) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printData writes v as JSON or YAML.
func printData(w io.Writer, format string, v any) error {
	j, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == outJSON {
		_, err = fmt.Fprintf(w, "%s\n", j)
		return err
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}

// age is how long ago t was, as kubectl prints ages; "-" when unset.
func age(now time.Time, t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// relative is "5m ago" or "in 5m".
func relative(now time.Time, t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	if d := t.Sub(now); d > 0 {
		return "in " + duration.HumanDuration(d)
	}
	return duration.HumanDuration(now.Sub(t.Time)) + " ago"
}

// when is "2026-11-21T11:00:00Z (60m ago)", or "-" when unset.
func when(now time.Time, t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return timestamp(t) + " (" + relative(now, t) + ")"
}

// timestamp is an absolute time in UTC, RFC 3339.
func timestamp(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
