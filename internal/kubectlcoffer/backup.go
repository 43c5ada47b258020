package kubectlcoffer

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
	"github.com/coffer-dev/coffer/internal/units"
)

type waitFlags struct {
	wait    bool
	timeout time.Duration
}

func (f *waitFlags) bind(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVarP(&f.wait, "wait", "w", false, "follow the "+what+" until it ends; exit 4 if it fails")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "with --wait, stop waiting after this long (exit 5; the "+what+" goes on); 0 waits until it ends")
}

// waitContext bounds ctx by --timeout.
func (f *waitFlags) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.timeout > 0 {
		return context.WithTimeout(ctx, f.timeout)
	}
	return context.WithCancel(ctx)
}

func (a *app) backupCommand() *cobra.Command {
	var wf waitFlags
	var pin bool
	cmd := &cobra.Command{
		Use:   "backup DEFINITION",
		Short: "Take an on-demand backup of a BackupDefinition now",
		Long: "Creates a Backup for DEFINITION; the controller forwards it to the definition's runner. With --wait,\n" +
			"follows it and prints the result; a failed backup exits 4 with the runner's reason.",
		Example:           "  kubectl coffer backup shop --wait\n  kubectl coffer backup shop --pin -n apps",
		Args:              exactArgs(1, "the name of a BackupDefinition"),
		ValidArgsFunction: a.completeDefinitions,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.backup(cmd.Context(), args[0], pin, wf)
		},
	}
	wf.bind(cmd, "backup")
	cmd.Flags().BoolVar(&pin, "pin", false, "take the backup pinned: retention keeps it until `kubectl coffer unpin`")
	return cmd
}

func (a *app) backup(ctx context.Context, definition string, pin bool, wf waitFlags) error {
	if err := a.connect(); err != nil {
		return err
	}
	def := &v1alpha1.BackupDefinition{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.namespace, Name: definition}, def); err != nil {
		return apiErr(err, fmt.Sprintf("BackupDefinition %q in namespace %q", definition, a.namespace))
	}
	if !def.DeletionTimestamp.IsZero() {
		return failedErr("", "BackupDefinition %q in namespace %q is being deleted: its runner is going away", definition, a.namespace)
	}
	b := &v1alpha1.Backup{
		ObjectMeta: metav1.ObjectMeta{Namespace: a.namespace, GenerateName: definition + "-ondemand-",
			Labels: map[string]string{v1alpha1.LabelDefinition: naming.LabelValue(definition)}},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: definition}, Pinned: pin},
	}
	if err := a.client.Create(ctx, b); err != nil {
		return apiErr(err, fmt.Sprintf("create a Backup of %q in namespace %q", definition, a.namespace))
	}
	fmt.Fprintf(a.opts.Out, "backup %s created\n", b.Name)
	if !wf.wait {
		fmt.Fprintf(a.opts.Out, "follow it with: kubectl coffer describe backup %s -n %s\n", b.Name, b.Namespace)
		return nil
	}
	return a.waitBackup(ctx, b, wf)
}

// waitBackup follows b until it ends and prints the result.
func (a *app) waitBackup(ctx context.Context, b *v1alpha1.Backup, wf waitFlags) error {
	var r rates
	return follow(ctx, a, b, followed[*v1alpha1.Backup]{
		kind:  "Backup",
		ended: func(b *v1alpha1.Backup) bool { return b.Status.Phase.Final() },
		line: func(b *v1alpha1.Backup) string {
			what := waiting(string(b.Status.Phase), b.Status.Conditions)
			if p := r.line(b.Status.Progress); p != "" {
				what += ": " + p
			}
			if b.Status.BackupID != "" {
				what += " [" + b.Status.BackupID + "]"
			}
			return what
		},
		start:  func(b *v1alpha1.Backup) *metav1.Time { return b.Status.StartTime },
		result: a.backupResult,
	}, wf)
}

func (a *app) backupResult(b *v1alpha1.Backup, follow string) error {
	if b.Status.Phase == v1alpha1.BackupFailed {
		return failedErr("details: `"+follow+"`; runner logs: `kubectl coffer logs "+b.Spec.DefinitionRef.Name+" -n "+b.Namespace+"`",
			"backup %s failed: %s", b.Name, orNone(b.Status.Error))
	}
	took := none
	if b.Status.StartTime != nil && b.Status.EndTime != nil {
		took = b.Status.EndTime.Sub(b.Status.StartTime.Time).Round(time.Second).String()
	}
	fmt.Fprintf(a.opts.Out, "backup %s completed: id %s, %d targets, %s stored, took %s\n",
		b.Name, b.Status.BackupID, len(b.Status.Targets), orNone(b.Status.Size), took)
	t := &table{header: []string{"TARGET", "ENGINE", "SIZE", "SHA256"}}
	for _, tg := range b.Status.Targets {
		t.add(tg.Name, tg.Engine, units.Bytes(tg.SizeBytes), tg.SHA256)
	}
	return t.write(a.opts.Out)
}
