package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/internal/phase"
)

// RestoreSpec says which backup to restore, and where.
// +kubebuilder:validation:XValidation:rule="has(self.backupRef) != has(self.latestOf)",message="exactly one of backupRef or latestOf is required"
// +kubebuilder:validation:XValidation:rule="!has(self.intoDatabase) || has(self.target)",message="intoDatabase needs target"
type RestoreSpec struct {
	// BackupRef names a Backup in the same namespace.
	// +optional
	BackupRef *LocalObjectReference `json:"backupRef,omitempty"`
	// LatestOf restores the newest Completed backup of this BackupDefinition.
	// +optional
	LatestOf *LocalObjectReference `json:"latestOf,omitempty"`
	// Target restores only this target; empty restores every target.
	// +optional
	Target string `json:"target,omitempty"`
	// IntoDatabase restores into another database (needs target).
	// +optional
	IntoDatabase string `json:"intoDatabase,omitempty"`
	// Clean allows overwriting a database that already has tables.
	// +optional
	Clean bool `json:"clean,omitempty"`
	// IgnoreDatabaseProperties restores into an existing database whose
	// encoding or collation differ from the backed-up database's.
	// +optional
	IgnoreDatabaseProperties bool `json:"ignoreDatabaseProperties,omitempty"`
	// From is the storage the backup is read from: primary (the default)
	// or offsite, the storage's offsite copy, e.g. when the primary
	// storage is lost.
	// +kubebuilder:validation:Enum=primary;offsite
	// +optional
	From string `json:"from,omitempty"`
	// Kubernetes tunes the restore of kubernetes targets (namespace
	// mapping, filters, existing objects, dry run). A definition outside
	// the operator namespace restores into its own namespace only: a
	// mapping to another namespace is refused (docs/operator.md).
	// +optional
	Kubernetes *KubernetesRestoreOptions `json:"kubernetes,omitempty"`
}

// RestorePhase is where a restore is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Completed;PartiallyFailed;Failed
type RestorePhase string

// Phases of a Restore: the runner's phases (internal/phase).
// PartiallyFailed: every target was restored, but some items of a
// kubernetes target failed (status.failedItems lists them).
const (
	RestorePending         = RestorePhase(phase.Pending)
	RestoreRunning         = RestorePhase(phase.Running)
	RestoreCompleted       = RestorePhase(phase.Completed)
	RestorePartiallyFailed = RestorePhase(phase.PartiallyFailed)
	RestoreFailed          = RestorePhase(phase.Failed)
)

// RestoreFailedItem is one item a restore could not restore.
type RestoreFailedItem struct {
	// Target is the backup target the item belongs to.
	Target string `json:"target"`
	// Item names it: "<resource> <namespace>/<name>" at its destination.
	Item string `json:"item"`
	// Reason is the API server's answer.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// RestoreStatus reports progress and result.
type RestoreStatus struct {
	// +optional
	Phase RestorePhase `json:"phase,omitempty"`
	// BackupID is the backup being restored, once resolved.
	// +optional
	BackupID string `json:"backupID,omitempty"`
	// RunnerRestoreID is the runner's id for this restore.
	// +optional
	RunnerRestoreID string `json:"runnerRestoreID,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`
	// +optional
	Error string `json:"error,omitempty"`
	// FailedItems are the first 50 items a PartiallyFailed restore could
	// not restore; FailedItemCount counts them all.
	// +optional
	FailedItems []RestoreFailedItem `json:"failedItems,omitempty"`
	// +optional
	FailedItemCount int `json:"failedItemCount,omitempty"`
	// Progress counts each restored target's bytes while the restore runs.
	// +optional
	Progress *TransferProgress `json:"progress,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Restore asks the runner of a definition to restore a backup.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Backup",type=string,JSONPath=`.status.backupID`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Restore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RestoreSpec   `json:"spec"`
	Status RestoreStatus `json:"status,omitempty"`
}

// RestoreList is a list of Restores.
// +kubebuilder:object:root=true
type RestoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Restore `json:"items"`
}
