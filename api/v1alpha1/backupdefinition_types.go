package v1alpha1

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupDefinitionSpec says what to back up, when, and how long to keep it.
type BackupDefinitionSpec struct {
	// StorageRef names the BackupStorage (in the operator's namespace) to write to.
	StorageRef LocalObjectReference `json:"storageRef"`
	// Schedule is a five-field cron expression.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// TimeZone of the schedule and of retention buckets (IANA name). Default UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// Retention keeps, per label, the newest N backups holding it; on-demand
	// backups are kept by their own count (manual).
	// +optional
	Retention *Retention `json:"retention,omitempty"`
	// Targets are backed up together as one backup set.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	Targets []Target `json:"targets"`
	// Suspend pauses scheduling.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// Runner tunes the runner pod the operator renders.
	// +optional
	Runner *RunnerSettings `json:"runner,omitempty"`
	// Coverage tunes how the coverage report judges this definition.
	// +optional
	Coverage *CoverageSettings `json:"coverage,omitempty"`
	// Verify re-reads stored backups on a schedule and reports bit rot and
	// missing objects.
	// +optional
	Verify *VerifySpec `json:"verify,omitempty"`
	// RestoreTest restores the newest backup into scratch databases on a
	// schedule and runs checks against them.
	// +optional
	RestoreTest *RestoreTestSpec `json:"restoreTest,omitempty"`
}

// RunnerSettings tune the runner pod of a definition.
type RunnerSettings struct {
	// Image overrides the operator's default runner image.
	// +optional
	Image string `json:"image,omitempty"`
	// Resources of the runner container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// DatabasePodSelector selects the database's pods (in the definition's
	// namespace): the runner prefers a node running one of them.
	// +optional
	DatabasePodSelector *metav1.LabelSelector `json:"databasePodSelector,omitempty"`
	// DrainTimeout is how long a stopping runner (a changed definition or
	// Secret rolls it; a drained node or a deleted definition stops it) lets
	// the backup or restore in flight finish before it aborts it. It takes no
	// new work meanwhile. The pod's termination grace period is this plus a
	// minute. Default 1h; "0s" aborts at once.
	// +optional
	DrainTimeout *metav1.Duration `json:"drainTimeout,omitempty"`
	// ImagePullSecrets name Secrets in the definition's namespace that the
	// volume reader and writer pods (started there, with the runner image)
	// pull their image with. The runner pod runs in the operator namespace
	// and pulls with the operator's --image-pull-secrets.
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
}

// DefaultDrainTimeout is RunnerSettings.DrainTimeout when it is not set:
// long enough for the restore of a sizeable database to finish rather than
// be cut off by a configuration change.
const DefaultDrainTimeout = time.Hour

// EffectiveDrainTimeout is DrainTimeout or its default; r may be nil.
func (r *RunnerSettings) EffectiveDrainTimeout() time.Duration {
	if r == nil || r.DrainTimeout == nil {
		return DefaultDrainTimeout
	}
	return r.DrainTimeout.Duration
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
	// Manual keeps the newest N on-demand backups (coffer-runner backup,
	// POST /v1/backups, a Backup object). They earn no time labels, so
	// scheduled backups are judged as if they did not exist. 0 or unset
	// means 10; there is no "none": pin, unpin or keep 1 to keep fewer.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Manual int `json:"manual,omitempty"`
	// Offsite are the keep-counts of the storage's offsite copy; unset, it
	// keeps what the primary keeps.
	// +optional
	Offsite *OffsiteRetention `json:"offsite,omitempty"`
}

// Target is one thing to back up. Exactly one engine block is set.
// +kubebuilder:validation:XValidation:rule="(has(self.postgres) ? 1 : 0) + (has(self.mysql) ? 1 : 0) + (has(self.cockroach) ? 1 : 0) + (has(self.etcd) ? 1 : 0) + (has(self.redis) ? 1 : 0) + (has(self.filesystem) ? 1 : 0) + (has(self.git) ? 1 : 0) + (has(self.kubernetes) ? 1 : 0) == 1",message="exactly one engine block (postgres, mysql, cockroach, etcd, redis, filesystem, git, kubernetes) is required"
type Target struct {
	// Name is unique within the definition and names the stored object.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`
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
	// +optional
	Kubernetes *KubernetesTarget `json:"kubernetes,omitempty"`
	// Covers declares the PersistentVolumeClaims whose data this target
	// backs up (the database's volume), for the coverage report.
	// +optional
	Covers *Covers `json:"covers,omitempty"`
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
	// Coverage counts the PersistentVolumeClaims the definition covers and
	// protects (see docs/coverage.md).
	// +optional
	Coverage *DefinitionCoverage `json:"coverage,omitempty"`
}

// BackupDefinition is a set of targets backed up together on a schedule.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Last Backup",type=date,JSONPath=`.status.lastBackupTime`
// +kubebuilder:printcolumn:name="Next Backup",type=string,JSONPath=`.status.nextBackupTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Protected PVCs",type=integer,JSONPath=`.status.coverage.protectedPVCs`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackupDefinition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupDefinitionSpec   `json:"spec"`
	Status BackupDefinitionStatus `json:"status,omitempty"`
}

// BackupDefinitionList is a list of BackupDefinitions.
// +kubebuilder:object:root=true
type BackupDefinitionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupDefinition `json:"items"`
}
