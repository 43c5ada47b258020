package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/internal/phase"
)

// BackupSpec names the definition a backup belongs to. A Backup created by a
// user asks for an on-demand backup; Backups the controller mirrors from the
// runner's catalog carry the label coffer.dev/mirrored=true.
type BackupSpec struct {
	// DefinitionRef names the BackupDefinition in the same namespace.
	DefinitionRef LocalObjectReference `json:"definitionRef"`
	// Pinned keeps the backup until it is unpinned: the controller adds or
	// removes the runner's "pinned" label whenever this field changes (a
	// new Backup is taken pinned). A mirrored Backup starts with the
	// runner's own state. Pins changed through the runner's CLI or API are
	// not undone; status.labels shows what the runner holds.
	// +optional
	Pinned bool `json:"pinned,omitempty"`
}

// BackupPhase is where a backup is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Completed;Failed
type BackupPhase string

// Phases of a Backup: the runner's phases (internal/phase).
const (
	BackupPending   = BackupPhase(phase.Pending)
	BackupRunning   = BackupPhase(phase.Running)
	BackupCompleted = BackupPhase(phase.Completed)
	BackupFailed    = BackupPhase(phase.Failed)
)

// BackupStatus mirrors the runner's record of the backup.
type BackupStatus struct {
	// +optional
	Phase BackupPhase `json:"phase,omitempty"`
	// BackupID is the id in storage (20261121T103000Z-k3f9).
	// +optional
	BackupID string `json:"backupID,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`
	// Labels are the retention and user labels the backup holds.
	// +optional
	Labels []string `json:"labels,omitempty"`
	// Size is the total stored size, human readable (for printer columns).
	// +optional
	Size string `json:"size,omitempty"`
	// +optional
	Targets []BackupTargetStatus `json:"targets,omitempty"`
	// StartSkew between the first and the last target.
	// +optional
	StartSkew string `json:"startSkew,omitempty"`
	// +optional
	Error string `json:"error,omitempty"`
	// Offsite is Copied when the backup is in the storage's offsite copy,
	// Waiting while the copy is pending; empty without an offsite copy.
	// +optional
	Offsite string `json:"offsite,omitempty"`
	// ProvenRestorableTime is when a restore test last restored this
	// backup into a scratch database with every check passing.
	// +optional
	ProvenRestorableTime *metav1.Time `json:"provenRestorableTime,omitempty"`
	// Progress counts each target's bytes while the backup runs.
	// +optional
	Progress *TransferProgress `json:"progress,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BackupTargetStatus is one target's stored object.
type BackupTargetStatus struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	// SizeBytes of the stored object.
	SizeBytes int64 `json:"sizeBytes"`
	// SHA256 of the stored object.
	SHA256 string `json:"sha256"`
	// ServerVersion is the database server's version when it was backed
	// up; absent for engines without a server (files, git).
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`
	// ToolVersion is the dump tool's version (pg_dump, mariadb-dump, ...);
	// absent for engines that use a client library.
	// +optional
	ToolVersion string `json:"toolVersion,omitempty"`
}

// Backup is one backup set of a definition.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Definition",type=string,JSONPath=`.spec.definitionRef.name`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Labels",type=string,JSONPath=`.status.labels`
// +kubebuilder:printcolumn:name="Offsite",type=string,JSONPath=`.status.offsite`,priority=1
// +kubebuilder:printcolumn:name="Proven",type=date,JSONPath=`.status.provenRestorableTime`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Backup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupSpec   `json:"spec"`
	Status BackupStatus `json:"status,omitempty"`
}

// BackupList is a list of Backups.
// +kubebuilder:object:root=true
type BackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Backup `json:"items"`
}
