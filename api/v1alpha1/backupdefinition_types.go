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
	// +optional
	Cockroach *CockroachTarget `json:"cockroach,omitempty"`
	// +optional
	Etcd *EtcdTarget `json:"etcd,omitempty"`
	// +optional
	Redis *RedisTarget `json:"redis,omitempty"`
	// +optional
	Filesystem *FilesystemTarget `json:"filesystem,omitempty"`
	// +optional
	Git *GitTarget `json:"git,omitempty"`
}

// CockroachTarget is one CockroachDB database. CockroachDB writes its backup
// files over HTTP into the runner's file endpoint (BACKUP INTO 'http://...').
type CockroachTarget struct {
	Host string `json:"host"`
	// +optional
	Port     int    `json:"port,omitempty"`
	Database string `json:"database"`
	User     string `json:"user"`
	// +optional
	PasswordSecretRef *SecretKeySelector `json:"passwordSecretRef,omitempty"`
	// +optional
	SSLMode string `json:"sslMode,omitempty"`
	// EndpointURL is the runner's file endpoint as CockroachDB reaches it,
	// e.g. http://runner-ns-name.coffer-system.svc:8080 (the runner's Service).
	// +optional
	EndpointURL string `json:"endpointURL,omitempty"`
}

// EtcdTarget is an etcd cluster, saved as a snapshot through the v3 maintenance API.
type EtcdTarget struct {
	Endpoints []string `json:"endpoints"`
	// +optional
	Username string `json:"username,omitempty"`
	// +optional
	PasswordSecretRef *SecretKeySelector `json:"passwordSecretRef,omitempty"`
	// TLS client authentication: CA, certificate and key, each a Secret key (PEM).
	// +optional
	CASecretRef *SecretKeySelector `json:"caSecretRef,omitempty"`
	// +optional
	CertSecretRef *SecretKeySelector `json:"certSecretRef,omitempty"`
	// +optional
	KeySecretRef *SecretKeySelector `json:"keySecretRef,omitempty"`
}

// RedisTarget is one Redis server, saved as an RDB snapshot.
type RedisTarget struct {
	Host string `json:"host"`
	// +optional
	Port int `json:"port,omitempty"`
	// +optional
	Username string `json:"username,omitempty"`
	// +optional
	PasswordSecretRef *SecretKeySelector `json:"passwordSecretRef,omitempty"`
}

// FilesystemTarget is a directory tree (a mounted volume), saved as a tar stream.
type FilesystemTarget struct {
	// Path of the directory, as the runner (or the reader pod) sees it.
	Path string `json:"path"`
	// Excludes are glob patterns (path.Match syntax) relative to Path.
	// +optional
	Excludes []string `json:"excludes,omitempty"`
	// PersistentVolumeClaim in the definition's namespace to back up through a
	// short-lived reader pod (operator only); Path is then the mount path.
	// +optional
	PersistentVolumeClaim string `json:"persistentVolumeClaim,omitempty"`
}

// GitTarget is a git repository, saved as a bundle of all refs.
type GitTarget struct {
	// URL of the repository (https://, ssh://, git@host:path, or a local path).
	URL string `json:"url"`
	// TokenSecretRef authenticates https with a token.
	// +optional
	TokenSecretRef *SecretKeySelector `json:"tokenSecretRef,omitempty"`
	// SSHKeySecretRef is a private key for ssh URLs.
	// +optional
	SSHKeySecretRef *SecretKeySelector `json:"sshKeySecretRef,omitempty"`
	// KnownHostsSecretRef pins the ssh host keys; required with SSHKeySecretRef.
	// +optional
	KnownHostsSecretRef *SecretKeySelector `json:"knownHostsSecretRef,omitempty"`
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
