package kubectlcoffer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/units"
)

func (a *app) describeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe KIND NAME",
		Short: "Show one backup or restore in full",
	}
	var output string
	backup := &cobra.Command{
		Use:               "backup NAME",
		Short:             "A backup's targets, sizes, checksums, skew, where it is stored and how to restore it",
		Args:              exactArgs(1, "the name of a Backup (see `kubectl coffer list`)"),
		ValidArgsFunction: a.completeBackups,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outJSON, outYAML); err != nil {
				return err
			}
			return a.describeBackup(cmd.Context(), args[0], output)
		},
	}
	outputFlag(backup, &output, outJSON, outYAML)
	restore := &cobra.Command{
		Use:   "restore NAME",
		Short: "A restore's backup, phase, times, error and conditions",
		Args:  exactArgs(1, "the name of a Restore"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outJSON, outYAML); err != nil {
				return err
			}
			return a.describeRestore(cmd.Context(), args[0], output)
		},
	}
	outputFlag(restore, &output, outJSON, outYAML)
	cmd.AddCommand(backup, restore)
	return cmd
}

func (a *app) describeBackup(ctx context.Context, name, output string) error {
	if err := a.connect(); err != nil {
		return err
	}
	b := &v1alpha1.Backup{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.namespace, Name: name}, b); err != nil {
		return apiErr(err, fmt.Sprintf("Backup %q in namespace %q", name, a.namespace))
	}
	if output != outTable {
		b.APIVersion, b.Kind = v1alpha1.GroupVersion.String(), "Backup"
		return printData(a.opts.Out, output, b)
	}
	w := a.opts.Out
	now := a.opts.Now()
	field(w, "Name", b.Name)
	field(w, "Namespace", b.Namespace)
	field(w, "Definition", b.Spec.DefinitionRef.Name)
	field(w, "Phase", string(b.Status.Phase))
	field(w, "Backup ID", b.Status.BackupID)
	field(w, "Started", timestamp(b.Status.StartTime))
	field(w, "Ended", timestamp(b.Status.EndTime))
	field(w, "Duration", took(b.Status.StartTime, b.Status.EndTime))
	field(w, "Size", b.Status.Size)
	field(w, "Start skew", b.Status.StartSkew)
	field(w, "Labels", strings.Join(b.Status.Labels, ", "))
	field(w, "Pinned", pinnedState(b))
	field(w, "Offsite", b.Status.Offsite)
	field(w, "Proven restorable", provenText(now, b.Status.ProvenRestorableTime))
	if b.Status.Error != "" {
		field(w, "Error", b.Status.Error)
	}
	if p := b.Status.Progress; p != nil {
		var r rates
		field(w, "Progress", r.line(p)+" at "+p.UpdateTime.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w, "Targets:")
	t := &table{header: []string{"  NAME", "ENGINE", "SIZE", "SHA256"}}
	for _, tg := range b.Status.Targets {
		t.add("  "+tg.Name, tg.Engine, units.Bytes(tg.SizeBytes), tg.SHA256)
	}
	if err := t.write(w); err != nil {
		return err
	}
	if err := writeVersions(w, b.Status.Targets); err != nil {
		return err
	}
	writeConditions(w, now, b.Status.Conditions)
	a.describeStorage(ctx, w, b)
	return nil
}

// writeVersions says which database server each target was read from and
// which tool read it: what a restore by hand needs (pg_restore must be at
// least as new as the pg_dump that wrote the dump). The tool's version is
// the last column: it has spaces ("pg_dump (PostgreSQL) 17.2").
func writeVersions(w io.Writer, targets []v1alpha1.BackupTargetStatus) error {
	fmt.Fprintln(w, "Versions:")
	t := &table{header: []string{"  NAME", "SERVER", "TOOL"}}
	for _, tg := range targets {
		t.add("  "+tg.Name, orNone(tg.ServerVersion), orNone(tg.ToolVersion))
	}
	return t.write(w)
}

// describeStorage says where the backup is stored and how to restore it,
// with Coffer and without.
func (a *app) describeStorage(ctx context.Context, w io.Writer, b *v1alpha1.Backup) {
	dir := "(none: the backup has no id yet)"
	if b.Status.BackupID != "" {
		dir = layout.Definition{Namespace: b.Namespace, Name: b.Spec.DefinitionRef.Name}.Backup(b.Status.BackupID).Dir()
	}
	storage := "(unknown: the BackupDefinition is gone)"
	def := &v1alpha1.BackupDefinition{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.DefinitionRef.Name}, def); err == nil {
		storage = a.storageLocation(ctx, def.Spec.StorageRef.Name)
	}
	fmt.Fprintln(w, "Stored:")
	fmt.Fprintf(w, "  Storage:     %s\n", storage)
	fmt.Fprintf(w, "  Key:         %s (under the storage's prefix; manifest.json lists the objects)\n", dir)
	if b.Status.Phase != v1alpha1.BackupCompleted {
		return
	}
	fmt.Fprintln(w, "Restore:")
	fmt.Fprintf(w, "  With Coffer: kubectl coffer restore %s --definition %s -n %s --wait\n", b.Name, b.Spec.DefinitionRef.Name, b.Namespace)
	fmt.Fprintln(w, "  By hand:     fetch the objects under Key; manifest.json names each target's object (docs/format.md, \"Restoring by hand\")")
	for _, tg := range b.Status.Targets {
		fmt.Fprintf(w, "               %s: %s\n", tg.Name, byHand(tg.Engine))
	}
}

// storageLocation describes a BackupStorage as a URL, or says why it cannot.
func (a *app) storageLocation(ctx context.Context, name string) string {
	st := &v1alpha1.BackupStorage{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.operatorNS, Name: name}, st); err != nil {
		return fmt.Sprintf("BackupStorage %s/%s (its details are not readable: %s)", a.operatorNS, name, shortErr(err))
	}
	s := st.Spec
	join := func(base, prefix string) string {
		if p := strings.Trim(prefix, "/"); p != "" {
			return base + "/" + p + "/"
		}
		return base + "/"
	}
	loc := "(no storage block)"
	switch {
	case s.S3 != nil:
		loc = join("s3://"+s.S3.Bucket, s.S3.Prefix)
		if s.S3.Endpoint != "" {
			loc += " at " + s.S3.Endpoint
		}
	case s.GCS != nil:
		loc = join("gs://"+s.GCS.Bucket, s.GCS.Prefix)
	case s.Azure != nil:
		loc = join("azblob://"+s.Azure.Account+"/"+s.Azure.Container, s.Azure.Prefix)
	case s.Filesystem != nil:
		loc = join("file://"+strings.TrimRight(s.Filesystem.Path, "/"), s.Filesystem.Prefix)
	}
	enc := "not encrypted"
	if s.Encryption != nil {
		enc = fmt.Sprintf("age-encrypted, recipients: %d", len(s.Encryption.Recipients))
	}
	return fmt.Sprintf("%s/%s: %s (%s)", a.operatorNS, name, loc, enc)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

func (a *app) describeRestore(ctx context.Context, name, output string) error {
	if err := a.connect(); err != nil {
		return err
	}
	rs := &v1alpha1.Restore{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.namespace, Name: name}, rs); err != nil {
		return apiErr(err, fmt.Sprintf("Restore %q in namespace %q", name, a.namespace))
	}
	if output != outTable {
		rs.APIVersion, rs.Kind = v1alpha1.GroupVersion.String(), "Restore"
		return printData(a.opts.Out, output, rs)
	}
	w := a.opts.Out
	field(w, "Name", rs.Name)
	field(w, "Namespace", rs.Namespace)
	field(w, "Restores", restoreSource(rs))
	field(w, "Target", rs.Spec.Target)
	field(w, "Into database", rs.Spec.IntoDatabase)
	field(w, "Phase", string(rs.Status.Phase))
	field(w, "Backup ID", rs.Status.BackupID)
	field(w, "Runner restore", rs.Status.RunnerRestoreID)
	field(w, "Started", timestamp(rs.Status.StartTime))
	field(w, "Ended", timestamp(rs.Status.EndTime))
	field(w, "Duration", took(rs.Status.StartTime, rs.Status.EndTime))
	if rs.Status.Error != "" {
		field(w, "Error", rs.Status.Error)
	}
	writeConditions(w, a.opts.Now(), rs.Status.Conditions)
	return nil
}

func restoreSource(rs *v1alpha1.Restore) string {
	switch {
	case rs.Spec.BackupRef != nil:
		return "backup " + rs.Spec.BackupRef.Name
	case rs.Spec.LatestOf != nil:
		return "the latest backup of " + rs.Spec.LatestOf.Name
	}
	return none
}

func field(w io.Writer, name, value string) {
	fmt.Fprintf(w, "%-18s %s\n", name+":", orNone(value))
}

func took(start, end *metav1.Time) string {
	if start == nil || end == nil {
		return none
	}
	return end.Sub(start.Time).Round(time.Millisecond).String()
}

func provenText(now time.Time, t *metav1.Time) string {
	if t == nil {
		return "never (no restore test has restored it)"
	}
	return when(now, t)
}

func writeConditions(w io.Writer, now time.Time, conds []metav1.Condition) {
	fmt.Fprintln(w, "Conditions:")
	t := &table{header: []string{"  TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"}}
	for _, c := range conds {
		t.add("  "+c.Type, string(c.Status), c.Reason, age(now, &c.LastTransitionTime), c.Message)
	}
	_ = t.write(w)
}

// byHand is how a target of engine is restored without Coffer.
func byHand(engine string) string {
	switch engine {
	case "postgres":
		return "age -d -i key.txt OBJECT | zstd -d | pg_restore --no-owner -d DATABASE"
	case "mysql":
		return "age -d -i key.txt OBJECT | zstd -d | mariadb DATABASE"
	}
	return "age -d -i key.txt OBJECT | zstd -d, then as docs/engines.md says for " + engine
}
