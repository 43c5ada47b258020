package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// The condition types the controller sets, and their reasons.
const (
	// ConditionReady on a BackupDefinition: its runner is rendered, and its
	// pod runs and is ready (storage reachable, lease held).
	ConditionReady = v1alpha1.ConditionReady
	// ConditionRunnerReachable on a BackupDefinition, Backup or Restore:
	// the runner answered its last call.
	ConditionRunnerReachable = v1alpha1.ConditionRunnerReachable
	// ConditionForwarded on a Backup or Restore: the runner took it.
	ConditionForwarded = v1alpha1.ConditionForwarded
	// ConditionPinForwarded on a Backup: the runner's backup has the pinned
	// label spec.pinned asks for, as of the condition's observedGeneration.
	ConditionPinForwarded = v1alpha1.ConditionPinForwarded
)

// Reasons, by the conditions that carry them (conditionReasons).
const (
	ReasonRendered          = "RunnerRendered"
	ReasonStorageNotFound   = "StorageNotFound"
	ReasonStorageNotAllowed = "StorageNotAllowed"
	ReasonSecretMissing     = "SecretMissing"
	ReasonInvalid           = "InvalidSpec"
	ReasonPathNotAllowed    = "LocalPathNotAllowed"
	ReasonStorageUnusable   = "StorageNotUsableByRunnerPods"

	// ReasonReachable: the definition's catalog was mirrored.
	ReasonReachable      = "CatalogSynced"
	ReasonRunnerNotReady = "RunnerNotReady"
	// ReasonStorageUnreachable and ReasonLeaseHeld: the runner runs but is
	// not ready, and says why (runnerapi.Readiness).
	ReasonStorageUnreachable = "StorageUnreachable"
	ReasonLeaseHeld          = "LeaseHeld"
	ReasonAnswered           = "Answered"
	ReasonUnreachable        = "RunnerUnreachable"

	ReasonAccepted       = "Accepted"
	ReasonRunnerBusy     = "RunnerBusy"
	ReasonRunnerNotFound = "RunnerNotFound"
	// ReasonDefinitionNotFound: a new Backup waits for its definition.
	ReasonDefinitionNotFound = "DefinitionNotFound"

	ReasonPinned         = "Pinned"
	ReasonUnpinned       = "Unpinned"
	ReasonNothingToPin   = v1alpha1.ReasonNothingToPin
	ReasonBackupNotFound = "BackupNotFound"
)

// conditionReasons is the table: every condition type and the reasons it
// may carry. Tests hold every condition a reconciler sets to it.
var conditionReasons = map[string][]string{
	ConditionReady: {ReasonRendered, ReasonStorageNotFound, ReasonStorageNotAllowed, ReasonSecretMissing,
		ReasonInvalid, ReasonPathNotAllowed, ReasonStorageUnusable, ReasonRunnerNotReady, ReasonStorageUnreachable, ReasonLeaseHeld,
		ReasonFormatPending, ReasonDedupKeyNotReady},
	// storage_format.go
	ConditionFormatSelected:  {ReasonSpecFormat, ReasonSpecChunked, ReasonFormatRecorded, ReasonKeptOnUpgrade, ReasonNewStorageDefault},
	ConditionDedupKeyReady:   {ReasonKeyGiven, ReasonKeyGenerated, ReasonKeySecretConflict},
	ConditionRunnerReachable: {ReasonReachable, ReasonRunnerNotReady, ReasonAnswered, ReasonUnreachable},
	ConditionForwarded: {ReasonAccepted, ReasonRunnerBusy, ReasonRunnerNotFound, ReasonUnreachable,
		ReasonDefinitionNotFound},
	ConditionPinForwarded: {ReasonPinned, ReasonUnpinned, ReasonNothingToPin, ReasonRunnerBusy,
		ReasonRunnerNotFound, ReasonBackupNotFound, ReasonUnreachable},
	ConditionWriteAccess: {ReasonGranted, ReasonRevoked}, // restore_grant.go
}

// conditions sets one object's conditions in one reconcile: at its
// generation, with transition times from the injected clock.
type conditions struct {
	list *[]metav1.Condition
	gen  int64
	now  time.Time
}

func conditionsOf(list *[]metav1.Condition, gen int64, clock Clock) conditions {
	return conditions{list: list, gen: gen, now: clock.Now()}
}

// set sets a condition; its transition time moves only when its status
// does.
func (c conditions) set(typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(c.list, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: c.gen, LastTransitionTime: metav1.NewTime(c.now)})
}

// get returns the condition of type typ, or nil.
func (c conditions) get(typ string) *metav1.Condition {
	return meta.FindStatusCondition(*c.list, typ)
}
