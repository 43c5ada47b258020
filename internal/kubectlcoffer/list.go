package kubectlcoffer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/retention"
)

func (a *app) listCommand() *cobra.Command {
	var all bool
	var output string
	cmd := &cobra.Command{
		Use:     "list [DEFINITION]",
		Aliases: []string{"ls"},
		Short:   "List backups (of one definition, of the namespace, or of every namespace with -A)",
		Long: "Lists Backup objects: those the controller mirrors from each runner's catalog and on-demand ones.\n" +
			"Columns: NAME, DEFINITION, PHASE, AGE (since the backup started), SIZE, LABELS (retention and user\n" +
			"labels the runner holds), PINNED (yes, no, or pinning/unpinning while the controller forwards a change);\n" +
			"-A puts NAMESPACE first, -o wide adds BACKUP-ID, OFFSITE and PROVEN. Newest first per definition.",
		Args:              maxArgs(1, "one DEFINITION"),
		ValidArgsFunction: a.completeDefinitions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outWide, outJSON, outYAML, outName); err != nil {
				return err
			}
			def := ""
			if len(args) == 1 {
				def = args[0]
			}
			return a.list(cmd.Context(), def, all, output)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list backups of every namespace")
	outputFlag(cmd, &output, outWide, outJSON, outYAML, outName)
	return cmd
}

func (a *app) list(ctx context.Context, definition string, all bool, output string) error {
	if err := a.connect(); err != nil {
		return err
	}
	var opts []client.ListOption
	where := "in every namespace"
	if !all {
		opts = append(opts, client.InNamespace(a.namespace))
		where = fmt.Sprintf("in namespace %q", a.namespace)
	}
	var list v1alpha1.BackupList
	if err := a.client.List(ctx, &list, opts...); err != nil {
		return apiErr(err, "list Backups "+where)
	}
	items := list.Items[:0]
	for _, b := range list.Items {
		if definition == "" || b.Spec.DefinitionRef.Name == definition {
			items = append(items, b)
		}
	}
	sortBackups(items)
	list.Items = items
	switch output {
	case outJSON, outYAML:
		list.APIVersion, list.Kind = "v1", "List"
		for i := range list.Items {
			list.Items[i].APIVersion, list.Items[i].Kind = v1alpha1.GroupVersion.String(), "Backup"
		}
		list.ResourceVersion = ""
		return printData(a.opts.Out, output, &list)
	case outName:
		for _, b := range items {
			fmt.Fprintf(a.opts.Out, "backup.coffer.dev/%s\n", b.Name)
		}
		return nil
	}
	if len(items) == 0 {
		fmt.Fprintf(a.opts.ErrOut, "no backups %s%s\n", where, ofDefinition(definition))
		return nil
	}
	return a.backupTable(items, all, output == outWide).write(a.opts.Out)
}

func ofDefinition(d string) string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf(" of definition %q", d)
}

// sortBackups: by namespace, definition, then newest first, then name.
func sortBackups(items []v1alpha1.Backup) {
	slices.SortStableFunc(items, func(x, y v1alpha1.Backup) int {
		if c := strings.Compare(x.Namespace, y.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(x.Spec.DefinitionRef.Name, y.Spec.DefinitionRef.Name); c != 0 {
			return c
		}
		if c := backupTime(y).Compare(backupTime(x).Time); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
}

// backupTime is when the backup started; before it starts, when its object
// was created.
func backupTime(b v1alpha1.Backup) *metav1.Time {
	if b.Status.StartTime != nil {
		return b.Status.StartTime
	}
	t := b.CreationTimestamp
	return &t
}

func (a *app) backupTable(items []v1alpha1.Backup, all, wide bool) *table {
	t := &table{header: []string{"NAME", "DEFINITION", "PHASE", "AGE", "SIZE", "LABELS", "PINNED"}}
	if all {
		t.header = append([]string{"NAMESPACE"}, t.header...)
	}
	if wide {
		t.header = append(t.header, "BACKUP-ID", "OFFSITE", "PROVEN")
	}
	now := a.opts.Now()
	for _, b := range items {
		row := []string{b.Name, b.Spec.DefinitionRef.Name, string(b.Status.Phase), age(now, backupTime(b)),
			b.Status.Size, strings.Join(b.Status.Labels, ","), pinnedState(&b)}
		if all {
			row = append([]string{b.Namespace}, row...)
		}
		if wide {
			row = append(row, b.Status.BackupID, b.Status.Offsite, age(now, b.Status.ProvenRestorableTime))
		}
		t.add(row...)
	}
	return t
}

// pinnedState is whether the runner holds the pinned label, or, while the
// controller has not yet forwarded a change of spec.pinned, where it goes.
func pinnedState(b *v1alpha1.Backup) string {
	held := slices.Contains(b.Status.Labels, retention.LabelPinned)
	if b.Spec.Pinned != held && !pinSettled(b) {
		if b.Spec.Pinned {
			return "pinning"
		}
		return "unpinning"
	}
	if held {
		return "yes"
	}
	return "no"
}

// pinSettled: the controller has forwarded this generation's spec.pinned,
// or cannot (the backup did not complete). It reads the PinForwarded
// condition as the controller writes it (internal/controller/backup_pin.go).
func pinSettled(b *v1alpha1.Backup) bool {
	c := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionPinForwarded)
	if c == nil {
		return b.Generation <= 1 && b.Status.Phase.Final()
	}
	return c.ObservedGeneration >= b.Generation && (c.Status == metav1.ConditionTrue || c.Reason == v1alpha1.ReasonNothingToPin)
}
