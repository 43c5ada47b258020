package kubectlcoffer

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
)

func (a *app) statusCommand() *cobra.Command {
	var all bool
	var output string
	cmd := &cobra.Command{
		Use:   "status [DEFINITION]",
		Short: "Definitions' health: ready, runner, last and next backup, coverage; one in full",
		Long: "Without DEFINITION: a table of the namespace's BackupDefinitions (-A: every namespace) with columns\n" +
			"NAME, READY, RUNNER (the RunnerReachable reason), SCHEDULE, SUSPENDED, LAST-BACKUP, NEXT-BACKUP,\n" +
			"COVERAGE (protected/covered PVCs). With DEFINITION: its storage, backups, runner pod and conditions.",
		Args:              maxArgs(1, "one DEFINITION"),
		ValidArgsFunction: a.completeDefinitions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outJSON, outYAML); err != nil {
				return err
			}
			if len(args) == 1 {
				return a.statusOne(cmd.Context(), args[0], output)
			}
			return a.statusAll(cmd.Context(), all, output)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "every namespace's definitions")
	outputFlag(cmd, &output, outJSON, outYAML)
	return cmd
}

func (a *app) statusAll(ctx context.Context, all bool, output string) error {
	if err := a.connect(); err != nil {
		return err
	}
	var opts []client.ListOption
	where := "in every namespace"
	if !all {
		opts = append(opts, client.InNamespace(a.namespace))
		where = fmt.Sprintf("in namespace %q", a.namespace)
	}
	var list v1alpha1.BackupDefinitionList
	if err := a.client.List(ctx, &list, opts...); err != nil {
		return apiErr(err, "list BackupDefinitions "+where)
	}
	if output != outTable {
		list.APIVersion, list.Kind, list.ResourceVersion = "v1", "List", ""
		for i := range list.Items {
			list.Items[i].APIVersion, list.Items[i].Kind = v1alpha1.GroupVersion.String(), "BackupDefinition"
		}
		return printData(a.opts.Out, output, &list)
	}
	if len(list.Items) == 0 {
		fmt.Fprintf(a.opts.ErrOut, "no BackupDefinitions %s\n", where)
		return nil
	}
	t := &table{header: []string{"NAME", "READY", "RUNNER", "SCHEDULE", "SUSPENDED", "LAST-BACKUP", "NEXT-BACKUP", "COVERAGE"}}
	if all {
		t.header = append([]string{"NAMESPACE"}, t.header...)
	}
	now := a.opts.Now()
	for _, d := range list.Items {
		row := []string{d.Name, conditionStatus(d.Status.Conditions, v1alpha1.ConditionReady),
			conditionReason(d.Status.Conditions, v1alpha1.ConditionRunnerReachable), d.Spec.Schedule,
			fmt.Sprint(d.Spec.Suspend), relative(now, d.Status.LastBackupTime), relative(now, d.Status.NextBackupTime), coverageCounts(&d)}
		if all {
			row = append([]string{d.Namespace}, row...)
		}
		t.add(row...)
	}
	return t.write(a.opts.Out)
}

func conditionStatus(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return string(c.Status)
	}
	return none
}

func conditionReason(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return c.Reason
	}
	return none
}

func coverageCounts(d *v1alpha1.BackupDefinition) string {
	if d.Status.Coverage == nil {
		return none
	}
	return fmt.Sprintf("%d/%d", d.Status.Coverage.ProtectedPVCs, d.Status.Coverage.CoveredPVCs)
}

func (a *app) statusOne(ctx context.Context, name, output string) error {
	if err := a.connect(); err != nil {
		return err
	}
	d := &v1alpha1.BackupDefinition{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.namespace, Name: name}, d); err != nil {
		return apiErr(err, fmt.Sprintf("BackupDefinition %q in namespace %q", name, a.namespace))
	}
	if output != outTable {
		d.APIVersion, d.Kind = v1alpha1.GroupVersion.String(), "BackupDefinition"
		return printData(a.opts.Out, output, d)
	}
	w, now := a.opts.Out, a.opts.Now()
	field(w, "Definition", d.Namespace+"/"+d.Name)
	schedule := d.Spec.Schedule
	if schedule != "" && d.Spec.TimeZone != "" {
		schedule += " (" + d.Spec.TimeZone + ")"
	}
	field(w, "Schedule", schedule)
	field(w, "Suspended", fmt.Sprint(d.Spec.Suspend))
	field(w, "Targets", targetNames(d))
	field(w, "Storage", a.storageLocation(ctx, d.Spec.StorageRef.Name))
	field(w, "Last backup", when(now, d.Status.LastBackupTime))
	field(w, "Next backup", when(now, d.Status.NextBackupTime))
	if d.Status.Coverage != nil {
		field(w, "Coverage", coverageCounts(d)+" PVCs protected/covered")
	} else {
		field(w, "Coverage", "")
	}
	field(w, "Backups", a.backupCounts(ctx, d))
	field(w, "Runner", a.runnerHealth(ctx, d))
	writeConditions(w, now, d.Status.Conditions)
	return nil
}

func targetNames(d *v1alpha1.BackupDefinition) string {
	names := make([]string, 0, len(d.Spec.Targets))
	for _, t := range d.Spec.Targets {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

// backupCounts counts the definition's Backups by phase.
func (a *app) backupCounts(ctx context.Context, d *v1alpha1.BackupDefinition) string {
	var list v1alpha1.BackupList
	if err := a.client.List(ctx, &list, client.InNamespace(d.Namespace)); err != nil {
		return "(cannot list: " + shortErr(err) + ")"
	}
	n := map[v1alpha1.BackupPhase]int{}
	for _, b := range list.Items {
		if b.Spec.DefinitionRef.Name == d.Name {
			n[b.Status.Phase]++
		}
	}
	return fmt.Sprintf("%d completed, %d failed, %d running, %d pending", n[v1alpha1.BackupCompleted], n[v1alpha1.BackupFailed],
		n[v1alpha1.BackupRunning], n[v1alpha1.BackupPending]+n[""])
}

// runnerHealth reads the runner's StatefulSet and pod in the operator
// namespace; a user who may not read them is told so.
func (a *app) runnerHealth(ctx context.Context, d *v1alpha1.BackupDefinition) string {
	name := naming.RunnerName(d.Namespace, d.Name)
	sts := &appsv1.StatefulSet{}
	err := a.client.Get(ctx, types.NamespacedName{Namespace: a.operatorNS, Name: name}, sts)
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("StatefulSet %s/%s does not exist: not rendered (the Ready condition says why)", a.operatorNS, name)
	}
	if err != nil {
		return fmt.Sprintf("StatefulSet %s/%s: %s", a.operatorNS, name, shortErr(err))
	}
	s := fmt.Sprintf("StatefulSet %s/%s: %d/1 ready", a.operatorNS, name, sts.Status.ReadyReplicas)
	pod := &corev1.Pod{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.operatorNS, Name: name + "-0"}, pod); err != nil {
		return s + "; pod " + name + "-0: " + shortErr(err)
	}
	return s + "; pod " + podHealth(pod)
}

func podHealth(pod *corev1.Pod) string {
	var restarts int32
	var waiting []string
	for _, cs := range pod.Status.ContainerStatuses {
		restarts += cs.RestartCount
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			waiting = append(waiting, cs.State.Waiting.Reason)
		}
	}
	ready := "not ready (its /readyz checks the storage)"
	if podReady(pod) {
		ready = "ready (storage reachable)"
	}
	s := fmt.Sprintf("%s %s, %s, %d restarts", pod.Name, orNone(string(pod.Status.Phase)), ready, restarts)
	if len(waiting) > 0 {
		s += " (" + strings.Join(waiting, ", ") + ")"
	}
	return s
}
