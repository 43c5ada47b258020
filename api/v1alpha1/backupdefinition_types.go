package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupDefinitionSpec says what to back up, when, and how long to keep it.
type BackupDefinitionSpec struct {
	// StorageRef names the BackupStorage to write to.
	StorageRef LocalObjectReference `json:"storageRef"`
	// Schedule is a five-field cron expression.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// TimeZone of the schedule and of retention buckets (IANA name). Default UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// Retention keeps, per label, the newest N backups holding it.
	// +optional
	Retention *Retention `json:"retention,omitempty"`
	// Targets are backed up together as one backup set.
	Targets []Target `json:"targets"`
	// Suspend pauses scheduling.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// Retention counts per label.
type Retention struct {
	// +optional
	Hourly int `json:"hourly,omitempty"`
	// +optional
	Daily int `json:"daily,omitempty"`
	// +optional
	Weekly int `json:"weekly,omitempty"`
	// +optional
	Monthly int `json:"monthly,omitempty"`
	// +optional
	Yearly int `json:"yearly,omitempty"`
}

// Target is one thing to back up. Exactly one engine block is set.
type Target struct {
	// Name is unique within the definition and names the stored object.
	Name string `json:"name"`
	// +optional
	Postgres *PostgresTarget `json:"postgres,omitempty"`
	// +optional
	MySQL *MySQLTarget `json:"mysql,omitempty"`
}

// PostgresTarget is one PostgreSQL database, dumped with pg_dump.
type PostgresTarget struct {
	Host string `json:"host"`
	// +optional
	Port     int    `json:"port,omitempty"`
	Database string `json:"database"`
	User     string `json:"user"`
	// +optional
	PasswordSecretRef *SecretKeySelector `json:"passwordSecretRef,omitempty"`
	// SSLMode as libpq understands it (disable, require, verify-full, ...).
	// +optional
	SSLMode string `json:"sslMode,omitempty"`
}

// MySQLTarget is one MySQL or MariaDB database, dumped with mariadb-dump or mysqldump.
type MySQLTarget struct {
	Host string `json:"host"`
	// +optional
	Port     int    `json:"port,omitempty"`
	Database string `json:"database"`
	User     string `json:"user"`
	// +optional
	PasswordSecretRef *SecretKeySelector `json:"passwordSecretRef,omitempty"`
}

// BackupDefinitionStatus reports the last and next backup.
type BackupDefinitionStatus struct {
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	LastBackupTime *metav1.Time `json:"lastBackupTime,omitempty"`
	// +optional
	NextBackupTime *metav1.Time `json:"nextBackupTime,omitempty"`
}

// BackupDefinition is a set of targets backed up together on a schedule.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
type BackupDefinition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupDefinitionSpec   `json:"spec"`
	Status BackupDefinitionStatus `json:"status,omitempty"`
}
