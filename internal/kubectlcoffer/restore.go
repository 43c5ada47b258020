package kubectlcoffer

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// latest restores the newest Completed backup of --definition.
const latest = "latest"

type restoreFlags struct {
	definition, target, intoDatabase, from string
	existingResources                      string
	namespaceMappings                      []string
	clean, ignoreDatabaseProperties        bool
	dryRun                                 bool
	wait                                   waitFlags
}

func (a *app) restoreCommand() *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:   "restore BACKUP|latest --definition DEFINITION",
		Short: "Restore a backup (or the latest of a definition) through its runner",
		Long: "Creates a Restore; the controller forwards it to the definition's runner. BACKUP is a Backup's name\n" +
			"(kubectl coffer list); `latest` is the newest Completed backup of --definition. With --wait, follows it;\n" +
			"a failed restore exits 4 with the runner's reason.",
		Example: "  kubectl coffer restore latest --definition shop --wait\n" +
			"  kubectl coffer restore shop-20261121t103000z-k3f9 --definition shop --target main --into-database shop_copy --wait",
		Args:              exactArgs(1, "a Backup's name or `latest`"),
		ValidArgsFunction: a.completeBackups,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.restore(cmd.Context(), args[0], f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.definition, "definition", "", "the BackupDefinition whose runner restores (required with `latest`)")
	fs.StringVar(&f.target, "target", "", "restore only this target (default: every target)")
	fs.StringVar(&f.intoDatabase, "into-database", "", "restore into this database instead of the backed-up one (needs --target)")
	fs.StringArrayVar(&f.namespaceMappings, "namespace-mapping", nil, "OLD=NEW: restore Kubernetes resources of namespace OLD into NEW (repeatable; kubernetes targets)")
	fs.StringVar(&f.existingResources, "existing-resources", "", "what happens to a Kubernetes object that exists: skip (default) or update (kubernetes targets)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "restore Kubernetes resources as a server-side dry run: report, change nothing (kubernetes targets)")
	fs.BoolVar(&f.clean, "clean", false, "allow overwriting a database that already has tables")
	fs.BoolVar(&f.ignoreDatabaseProperties, "ignore-database-properties", false, "restore into an existing database whose encoding or collation differ")
	fs.StringVar(&f.from, "from", "", "read the backup from `primary` (default) or `offsite` storage")
	f.wait.bind(cmd, "restore")
	_ = cmd.RegisterFlagCompletionFunc("definition", a.completeDefinitionFlag)
	_ = cmd.RegisterFlagCompletionFunc("from", cobra.FixedCompletions([]string{"primary", "offsite"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// check refuses what the API would refuse, or cannot express, before
// anything is created.
func (f *restoreFlags) check(backup string) error {
	for _, m := range f.namespaceMappings {
		if old, nw, ok := strings.Cut(m, "="); !ok || old == "" || nw == "" {
			return usageErr("write it OLD=NEW", "--namespace-mapping %q is not OLD=NEW", m)
		}
	}
	if f.existingResources != "" && f.existingResources != "skip" && f.existingResources != "update" {
		return usageErr("use skip or update", "--existing-resources %q: skip or update", f.existingResources)
	}
	if backup == latest && f.definition == "" {
		return usageErr("add --definition DEFINITION", "restore latest needs --definition: the latest backup of which definition?")
	}
	if f.intoDatabase != "" && f.target == "" {
		return usageErr("add --target TARGET (the target whose dump goes into the database)", "--into-database needs --target")
	}
	if f.from != "" && f.from != "primary" && f.from != "offsite" {
		return usageErr("use primary or offsite", "--from %q is not a storage: primary or offsite", f.from)
	}
	return nil
}

// kubernetesOptions are the Restore's spec.kubernetes, nil when no
// Kubernetes flag was given.
func (f *restoreFlags) kubernetesOptions() *v1alpha1.KubernetesRestoreOptions {
	if len(f.namespaceMappings) == 0 && f.existingResources == "" && !f.dryRun {
		return nil
	}
	o := &v1alpha1.KubernetesRestoreOptions{ExistingResources: f.existingResources, DryRun: f.dryRun}
	for _, m := range f.namespaceMappings {
		old, nw, _ := strings.Cut(m, "=")
		if o.NamespaceMapping == nil {
			o.NamespaceMapping = map[string]string{}
		}
		o.NamespaceMapping[old] = nw
	}
	return o
}

func (a *app) restore(ctx context.Context, backup string, f restoreFlags) error {
	if err := f.check(backup); err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	spec := v1alpha1.RestoreSpec{Target: f.target, IntoDatabase: f.intoDatabase, Clean: f.clean,
		IgnoreDatabaseProperties: f.ignoreDatabaseProperties, From: f.from, Kubernetes: f.kubernetesOptions()}
	definition := f.definition
	if backup == latest {
		spec.LatestOf = &v1alpha1.LocalObjectReference{Name: definition}
		def := &v1alpha1.BackupDefinition{}
		if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.namespace, Name: definition}, def); err != nil {
			return apiErr(err, fmt.Sprintf("BackupDefinition %q in namespace %q", definition, a.namespace))
		}
	} else {
		b, err := a.restorableBackup(ctx, backup, definition)
		if err != nil {
			return err
		}
		definition = b.Spec.DefinitionRef.Name
		spec.BackupRef = &v1alpha1.LocalObjectReference{Name: backup}
	}
	rs := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: a.namespace, GenerateName: definition + "-restore-"}, Spec: spec}
	if err := a.client.Create(ctx, rs); err != nil {
		return apiErr(err, fmt.Sprintf("create a Restore in namespace %q", a.namespace))
	}
	fmt.Fprintf(a.opts.Out, "restore %s created (%s)\n", rs.Name, restoreSource(rs))
	if !f.wait.wait {
		fmt.Fprintf(a.opts.Out, "follow it with: kubectl coffer describe restore %s -n %s\n", rs.Name, rs.Namespace)
		return nil
	}
	return a.waitRestore(ctx, rs, definition, f.wait)
}

// restorableBackup is the named Backup, Completed and of definition (when
// given).
func (a *app) restorableBackup(ctx context.Context, name, definition string) (*v1alpha1.Backup, error) {
	b := &v1alpha1.Backup{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.namespace, Name: name}, b); err != nil {
		return nil, apiErr(err, fmt.Sprintf("Backup %q in namespace %q", name, a.namespace))
	}
	if definition != "" && b.Spec.DefinitionRef.Name != definition {
		return nil, usageErr("drop --definition, or name a backup of "+definition+" (kubectl coffer list "+definition+")",
			"Backup %q belongs to definition %q, not %q", name, b.Spec.DefinitionRef.Name, definition)
	}
	if b.Status.Phase != v1alpha1.BackupCompleted || b.Status.BackupID == "" {
		return nil, usageErr("pick a Completed backup: kubectl coffer list "+b.Spec.DefinitionRef.Name,
			"Backup %q is %s, not Completed: there is nothing to restore", name, orNone(string(b.Status.Phase)))
	}
	return b, nil
}

// waitRestore follows rs until it ends.
func (a *app) waitRestore(ctx context.Context, rs *v1alpha1.Restore, definition string, wf waitFlags) error {
	var r rates
	return follow(ctx, a, rs, followed[*v1alpha1.Restore]{
		kind:  "Restore",
		ended: func(rs *v1alpha1.Restore) bool { return rs.Status.Phase.Final() },
		line: func(rs *v1alpha1.Restore) string {
			what := waiting(string(rs.Status.Phase), rs.Status.Conditions)
			if p := r.line(rs.Status.Progress); p != "" {
				what += ": " + p
			}
			if rs.Status.BackupID != "" {
				what += " [backup " + rs.Status.BackupID + "]"
			}
			return what
		},
		start: func(rs *v1alpha1.Restore) *metav1.Time { return rs.Status.StartTime },
		result: func(rs *v1alpha1.Restore, how string) error {
			return a.restoreResult(rs, definition, how)
		},
	}, wf)
}

func (a *app) restoreResult(rs *v1alpha1.Restore, definition, follow string) error {
	if rs.Status.Phase == v1alpha1.RestoreFailed {
		return failedErr("details: `"+follow+"`; runner logs: `kubectl coffer logs "+definition+" -n "+rs.Namespace+"`",
			"restore %s failed: %s", rs.Name, orNone(rs.Status.Error))
	}
	if rs.Status.Phase == v1alpha1.RestorePartiallyFailed {
		return failedErr("details: `"+follow+"`; fix what the reasons say and restore again with --existing-resources update",
			"restore %s partially failed: %d item(s) not restored%s", rs.Name, rs.Status.FailedItemCount, failedItems(rs.Status.FailedItems))
	}
	_, err := fmt.Fprintf(a.opts.Out, "restore %s completed: backup %s restored, took %s\n",
		rs.Name, orNone(rs.Status.BackupID), took(rs.Status.StartTime, rs.Status.EndTime))
	return err
}

// failedItems lists the first failed items of a PartiallyFailed restore,
// one per line.
func failedItems(items []v1alpha1.RestoreFailedItem) string {
	const shown = 10
	var b strings.Builder
	for i, it := range items {
		if i == shown {
			fmt.Fprintf(&b, "\n  ... and %d more (kubectl get restore -o yaml lists 50)", len(items)-shown)
			break
		}
		fmt.Fprintf(&b, "\n  %s: %s: %s", it.Target, it.Item, orNone(it.Reason))
	}
	return b.String()
}
