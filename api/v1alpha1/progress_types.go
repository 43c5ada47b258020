package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/internal/phase"
)

// TransferProgress is how far a running backup or restore is, per target,
// as the runner counted it when the controller last asked. It is cleared
// when the backup or restore ends: a Backup's final sizes are in
// status.targets.
type TransferProgress struct {
	// UpdateTime is when the controller read these counts from the runner.
	// A rate is the difference of two readings over the difference of
	// their UpdateTimes, or the bytes over the time since a target's
	// startTime.
	UpdateTime metav1.Time `json:"updateTime"`
	// +optional
	Targets []TargetProgress `json:"targets,omitempty"`
}

// TargetPhase is where one target of a backup or restore in flight is.
// +kubebuilder:validation:Enum=Waiting;Running;Done;Failed
type TargetPhase string

// Phases of a target: the runner's (internal/phase).
const (
	TargetWaiting = TargetPhase(phase.TargetWaiting)
	TargetRunning = TargetPhase(phase.TargetRunning)
	TargetDone    = TargetPhase(phase.TargetDone)
	TargetFailed  = TargetPhase(phase.TargetFailed)
)

// TargetPhaseOf is the phase that shows the runner's target phase p.
func TargetPhaseOf(p phase.TargetPhase) TargetPhase { return TargetPhase(p) }

// TargetProgress is one target's bytes so far.
type TargetProgress struct {
	Name  string      `json:"name"`
	Phase TargetPhase `json:"phase"`
	// PlainBytes: read from the database or files (backup), or written to
	// the destination (restore).
	PlainBytes int64 `json:"plainBytes"`
	// StoredBytes: uploaded to storage (backup; of a chunked backup only
	// the chunks it did not find stored already) or downloaded (restore).
	StoredBytes int64 `json:"storedBytes"`
	// StartTime is when the target started; absent while it waits.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
}
