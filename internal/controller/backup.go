package controller

import (
	"context"
	"errors"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// pollInterval: how often an in-flight on-demand backup or restore is polled.
const pollInterval = 3 * time.Second

// Waits before a runner is asked again.
const (
	busyRetry        = 10 * time.Second
	unreachableRetry = 10 * time.Second
	noRunnerRetry    = 15 * time.Second
)

// BackupReconciler forwards Backups a user created to the runner (on-demand
// backups) and follows them to the end; for every Backup, user-created or
// mirrored, it forwards changes of spec.pinned. Mirroring itself is the
// definition reconciler's.
type BackupReconciler struct {
	Client client.Client
	// Reader reads a Backup uncached before it is triggered (fresh); nil
	// means Client.
	Reader  client.Reader
	Runners RunnerCalls
	Events  events.EventRecorder
	Clock   Clock
}

// Reconcile: fetch, the steps, then write what changed.
func (r *BackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &v1alpha1.Backup{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if err := r.fresh(ctx, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := b.DeepCopy()
	res, err := r.steps(ctx, b)
	eventOnPhase(r.Events, b, string(before.Status.Phase), string(b.Status.Phase), string(v1alpha1.BackupCompleted), string(v1alpha1.BackupFailed),
		"backup "+b.Status.BackupID+" "+strings.ToLower(string(b.Status.Phase))+" "+b.Status.Error)
	if !mirrored(b) && before.Status.Phase != v1alpha1.BackupFailed && b.Status.Phase == v1alpha1.BackupFailed {
		def := &v1alpha1.BackupDefinition{}
		if r.Client.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.DefinitionRef.Name}, def) == nil {
			eventBackupFailed(r.Events, def, b, "on-demand Backup "+b.Name, b.Status.BackupID, b.Status.Error)
		}
	}
	if b.Status.Phase.Final() && err == nil { // step 2 ran
		eventOnChange(r.Events, b, before.Status.Conditions, b.Status.Conditions, ConditionPinForwarded)
	}
	if b.Labels[LabelDefinition] != before.Labels[LabelDefinition] {
		if perr := r.Client.Patch(ctx, b.DeepCopy(), client.MergeFrom(before)); perr != nil {
			return ctrl.Result{}, perr
		}
	}
	if perr := patchStatus(ctx, r.Client, before, b); perr != nil {
		err = errors.Join(err, perr)
	}
	return res, err
}

// steps are the Backup's idempotent steps.
func (r *BackupReconciler) steps(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	// 1. A Backup a user created: trigger it once, follow it to the end.
	if !mirrored(b) && !b.Status.Phase.Final() {
		if res, err := r.follow(ctx, b); err != nil || !b.Status.Phase.Final() {
			return res, err
		}
	}
	// 2. A finished Backup, user-created or mirrored: forward a changed
	// spec.pinned.
	if b.Status.Phase.Final() {
		return r.forwardPin(ctx, b)
	}
	// 3. A mirrored Backup still running, with a pin to forward: look
	// again, as its status changes do not reach this reconciler.
	if !pinForwarded(b) {
		return ctrl.Result{RequeueAfter: pollInterval}, nil
	}
	return ctrl.Result{}, nil
}

func mirrored(b *v1alpha1.Backup) bool { return b.Labels[LabelMirrored] == "true" }

// fresh replaces a user's Backup that is about to be triggered (no backup
// id yet) with the API server's copy. The cache may not have seen this
// reconciler's own write of the id yet (the label patch before it wakes
// the Backup again at once): triggering from that stale copy asked the
// runner a second time, which answered busy, and the Backup said
// Forwarded=False RunnerBusy while its backup ran; with the runner idle it
// would have been a second backup.
func (r *BackupReconciler) fresh(ctx context.Context, b *v1alpha1.Backup) error {
	if mirrored(b) || b.Status.Phase.Final() || b.Status.BackupID != "" {
		return nil
	}
	reader := r.Reader
	if reader == nil {
		reader = r.Client
	}
	return reader.Get(ctx, client.ObjectKeyFromObject(b), b)
}

// follow triggers a user's Backup once, then polls the runner's record.
func (r *BackupReconciler) follow(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	if b.Labels == nil {
		b.Labels = map[string]string{}
	}
	b.Labels[LabelDefinition] = LabelValue(b.Spec.DefinitionRef.Name)
	def, res, err := r.definition(ctx, b)
	if def == nil {
		return res, err
	}
	c := conditionsOf(&b.Status.Conditions, b.Generation, r.Clock)
	rc, err := r.Runners.forDefinition(ctx, b.Namespace, b.Spec.DefinitionRef.Name)
	if err != nil {
		c.set(ConditionForwarded, metav1.ConditionFalse, ReasonRunnerNotFound, err.Error())
		return r.runnerOutOfReach(b, c, def, err, noRunnerRetry)
	}
	if b.Status.BackupID == "" {
		return r.trigger(ctx, b, c, def, rc)
	}
	return r.poll(ctx, b, c, def, rc)
}

// trigger asks the runner for the backup; a busy runner is asked again.
// Asking twice is safe: the Backup's uid is the request key.
func (r *BackupReconciler) trigger(ctx context.Context, b *v1alpha1.Backup, c conditions, def *v1alpha1.BackupDefinition, rc *runnerapi.Client) (ctrl.Result, error) {
	// The uid is the request key: a trigger whose answer was lost (a crash,
	// a failed status write, a stale cache) gets the same backup when asked
	// again, never a second one.
	rec, err := rc.TriggerBackup(ctx, runnerapi.BackupRequest{Pinned: b.Spec.Pinned, RequestKey: string(b.UID)})
	switch {
	case errors.Is(err, runnerapi.ErrBusy):
		noteRunner(c, nil, 0)
		b.Status.Phase = v1alpha1.BackupPending
		c.set(ConditionForwarded, metav1.ConditionFalse, ReasonRunnerBusy, err.Error())
		return ctrl.Result{RequeueAfter: busyRetry}, nil
	case err != nil:
		b.Status.Phase = v1alpha1.BackupPending
		c.set(ConditionForwarded, metav1.ConditionFalse, ReasonUnreachable, err.Error())
		return r.runnerOutOfReach(b, c, def, err, unreachableRetry)
	}
	noteRunner(c, nil, 0)
	c.set(ConditionForwarded, metav1.ConditionTrue, ReasonAccepted, "runner started backup "+rec.ID)
	setPinForwarded(c, b.Spec.Pinned, rec.ID)
	b.Status = statusFromRunner(rec, b.Status.Conditions)
	return ctrl.Result{RequeueAfter: pollInterval}, nil
}

// poll mirrors the runner's record of the backup until it ends.
func (r *BackupReconciler) poll(ctx context.Context, b *v1alpha1.Backup, c conditions, def *v1alpha1.BackupDefinition, rc *runnerapi.Client) (ctrl.Result, error) {
	rec, err := rc.Backup(ctx, b.Status.BackupID)
	switch {
	case errors.Is(err, runnerapi.ErrNotFound):
		// The runner lists committed backups, failure records and the
		// backup in flight: one it does not know was never committed.
		noteRunner(c, nil, 0)
		r.fail(b, "the runner has no record of backup "+b.Status.BackupID+": it restarted before committing it "+
			"(killed, or aborted after its drain timeout) and recorded no failure; nothing was stored. Create a new Backup")
		return ctrl.Result{}, nil
	case err != nil:
		c.set(ConditionForwarded, metav1.ConditionTrue, ReasonUnreachable, err.Error())
		return r.runnerOutOfReach(b, c, def, err, unreachableRetry)
	}
	noteRunner(c, nil, 0)
	// The runner has it: whatever a stale reconcile wrote, it was forwarded.
	c.set(ConditionForwarded, metav1.ConditionTrue, ReasonAccepted, "runner started backup "+b.Status.BackupID)
	prev := b.Status.Progress
	b.Status = statusFromRunner(rec, b.Status.Conditions)
	b.Status.Progress = progressOf(prev, rec.Status, rec.Progress, r.Clock.Now())
	if rec.Status.Final() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollInterval}, nil
}

// definition returns the Backup's live definition, or nil after failing
// the Backup (or deciding to wait for a definition not created yet).
func (r *BackupReconciler) definition(ctx context.Context, b *v1alpha1.Backup) (*v1alpha1.BackupDefinition, ctrl.Result, error) {
	def, err := liveDefinition(ctx, r.Client, b.Namespace, b.Spec.DefinitionRef.Name)
	var gone *errDefinitionGone
	if !errors.As(err, &gone) {
		return def, ctrl.Result{}, err
	}
	if b.Status.BackupID != "" {
		r.fail(b, gone.Error()+" while backup "+b.Status.BackupID+" ran. A stopping runner finishes its backup first "+
			"(up to spec.runner.drainTimeout): if it did, the backup is in storage"+definitionGoneHint)
		return nil, ctrl.Result{}, nil
	}
	// Only a Backup that never saw its definition waits for it to arrive.
	c := conditionsOf(&b.Status.Conditions, b.Generation, r.Clock)
	fwd := c.get(ConditionForwarded)
	neverSeen := fwd == nil || fwd.Reason == ReasonDefinitionNotFound
	if neverSeen && !gone.deleting && c.now.Sub(b.CreationTimestamp.Time) < definitionArrivalGrace {
		b.Status.Phase = v1alpha1.BackupPending
		c.set(ConditionForwarded, metav1.ConditionFalse, ReasonDefinitionNotFound, gone.Error())
		return nil, ctrl.Result{RequeueAfter: 5 * time.Second}, nil
	}
	r.fail(b, gone.Error()+": no runner can take this backup"+definitionGoneHint)
	return nil, ctrl.Result{}, nil
}

// runnerOutOfReach retries after wait, or fails the Backup once its runner
// has been out of reach for too long.
func (r *BackupReconciler) runnerOutOfReach(b *v1alpha1.Backup, c conditions, def *v1alpha1.BackupDefinition, err error, wait time.Duration) (ctrl.Result, error) {
	limit := runnerLostAfter(def)
	if !noteRunner(c, err, limit) {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	what := "the backup was never started"
	if b.Status.BackupID != "" {
		what = "backup " + b.Status.BackupID + " may still have been committed (see the definition's mirrored Backups)"
	}
	r.fail(b, lostMessage(what, limit, err))
	return ctrl.Result{}, nil
}

func (r *BackupReconciler) fail(b *v1alpha1.Backup, msg string) {
	b.Status.Phase = v1alpha1.BackupFailed
	b.Status.Error = msg
	b.Status.Progress = nil
	if b.Status.EndTime == nil {
		now := metav1.NewTime(r.Clock.Now())
		b.Status.EndTime = &now
	}
}

// SetupWithManager registers the reconciler: every event of a user-created
// Backup, and spec changes of mirrored ones (their status changes with every
// sync of the catalog, which is no work for this reconciler).
func (r *BackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	userCreated := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[LabelMirrored] != "true" })
	return ctrl.NewControllerManagedBy(mgr).Named("backup").For(&v1alpha1.Backup{}).
		WithEventFilter(predicate.Or(userCreated, predicate.GenerationChangedPredicate{})).Complete(r)
}
