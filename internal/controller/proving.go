package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// Conditions of a BackupDefinition that say what proves its backups
// (docs/offsite.md, docs/proving.md), from the runner's GET /v1/status.
// Each is set only when the definition uses that part.
const (
	ConditionOffsiteCopied = "OffsiteCopied"
	ConditionVerified      = "Verified"
	ConditionRestoreTested = "RestoreTested"
)

// syncProving mirrors the runner's status into the definition's proving
// conditions, with an Event when one changes. A runner that does not
// answer leaves them as they are: RunnerReachable says why.
func (r *DefinitionReconciler) syncProving(ctx context.Context, def *v1alpha1.BackupDefinition, rc *runnerapi.Client) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := rc.Status(cctx)
	cancel()
	if err != nil {
		if !errors.Is(err, runnerapi.ErrNotFound) { // an older runner has no /v1/status
			log.FromContext(ctx).V(1).Info("reading the runner's status", "error", err.Error())
		}
		return
	}
	before := slices.Clone(def.Status.Conditions)
	for _, c := range provingConditions(st, def.Generation) {
		meta.SetStatusCondition(&def.Status.Conditions, c)
	}
	for _, t := range []string{ConditionOffsiteCopied, ConditionVerified, ConditionRestoreTested} {
		eventOnChange(r.Events, def, before, def.Status.Conditions, t)
	}
}

// provingConditions turns a runner's status into conditions; a part the
// runner does not report gives none.
func provingConditions(st runnerapi.RunnerStatus, gen int64) []metav1.Condition {
	var out []metav1.Condition
	add := func(typ string, ok bool, reason, msg string) {
		status := metav1.ConditionTrue
		if !ok {
			status = metav1.ConditionFalse
		}
		out = append(out, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	if o := st.Offsite; o != nil && !o.LastRunTime.IsZero() {
		switch {
		case o.Error != "":
			add(ConditionOffsiteCopied, false, "CopyFailing", fmt.Sprintf("%d backup(s) waiting for a copy to %s; retrying: %s", len(o.Waiting), o.Storage, o.Error))
		case len(o.Waiting) > 0:
			add(ConditionOffsiteCopied, false, "CopyWaiting", fmt.Sprintf("%d backup(s) waiting for a copy to %s", len(o.Waiting), o.Storage))
		default:
			add(ConditionOffsiteCopied, true, "Copied", fmt.Sprintf("every backup the offsite copy keeps is in %s (%d)", o.Storage, o.Backups))
		}
	}
	if v := st.Verify; v != nil && !v.LastRunTime.IsZero() {
		switch {
		case len(v.Problems) > 0:
			add(ConditionVerified, false, "ObjectsFailedVerification", problemsMessage(v.Problems))
		case v.Error != "":
			add(ConditionVerified, false, "VerificationFailed", v.Error)
		default:
			add(ConditionVerified, true, "Verified", "the last scheduled verification found every object whole")
		}
	}
	if rt := st.RestoreTest; rt != nil && rt.Last != nil && rt.Last.Status != "Running" {
		if rt.Last.Status == "Passed" {
			add(ConditionRestoreTested, true, "Passed", fmt.Sprintf("backup %s was restored and every check passed", rt.Last.BackupID))
		} else {
			add(ConditionRestoreTested, false, "Failed", fmt.Sprintf("the restore test of backup %s failed: %s", rt.Last.BackupID, rt.Last.Error))
		}
	}
	return out
}

// problemsMessage names the first few objects verification found wrong.
func problemsMessage(ps []runnerapi.ObjectProblem) string {
	const shown = 3
	var parts []string
	for _, p := range ps[:min(len(ps), shown)] {
		parts = append(parts, fmt.Sprintf("%s %s object %s of backup %s", p.Problem, p.Storage, p.Object, p.BackupID))
	}
	msg := fmt.Sprintf("%d object(s) failed verification: %s", len(ps), strings.Join(parts, "; "))
	if len(ps) > shown {
		msg += "; …"
	}
	return msg
}
