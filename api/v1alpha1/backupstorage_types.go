package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupStorageSpec says where backups go and how they are encrypted.
// Exactly one of S3, Filesystem, Azure or GCS is set.
// +kubebuilder:validation:XValidation:rule="(has(self.s3) ? 1 : 0) + (has(self.filesystem) ? 1 : 0) + (has(self.azure) ? 1 : 0) + (has(self.gcs) ? 1 : 0) == 1",message="exactly one of s3, filesystem, azure or gcs is required"
type BackupStorageSpec struct {
	// S3 stores backups in an S3-compatible bucket.
	// +optional
	S3 *S3Storage `json:"s3,omitempty"`
	// Filesystem stores backups under a local directory (laptops, NFS, tests).
	// +optional
	Filesystem *FilesystemStorage `json:"filesystem,omitempty"`
	// Azure stores backups in an Azure Blob Storage container.
	// +optional
	Azure *AzureStorage `json:"azure,omitempty"`
	// GCS stores backups in a Google Cloud Storage bucket.
	// +optional
	GCS *GCSStorage `json:"gcs,omitempty"`
	// Encryption of every stored object with age. Without it objects are
	// stored compressed but in clear.
	// +optional
	Encryption *Encryption `json:"encryption,omitempty"`
	// Compression tunes zstd.
	// +optional
	Compression *Compression `json:"compression,omitempty"`
	// Upload tunes streaming uploads.
	// +optional
	Upload *UploadSettings `json:"upload,omitempty"`
	// Format of new backups: Chunked (storage format version 2: each
	// target as content-defined chunks shared by the definition's backups,
	// so a little-changed database stores only what changed) or Stream
	// (format version 1: one object per target, restorable by hand with
	// `age -d | zstd -d`). Unset: Chunked when spec.chunked is set; else
	// the controller records a default in status.format, once: Chunked for
	// a new storage, Stream for one an earlier controller version already
	// served, so an upgrade never switches a storage's format. Backups of
	// both formats are listed, verified and restored from one storage.
	// Standalone (coffer-runner without the controller) a storage writes
	// format 1 unless spec.chunked is set.
	// +kubebuilder:validation:Enum=Chunked;Stream
	// +optional
	Format StorageFormat `json:"format,omitempty"`
	// Chunked configures format version 2. Setting it selects Chunked
	// unless spec.format says Stream.
	// +optional
	Chunked *ChunkedFormat `json:"chunked,omitempty"`
	// Offsite is a second storage every committed backup is copied to, so
	// the backups survive the loss of this storage's site.
	// +optional
	Offsite *OffsiteStorage `json:"offsite,omitempty"`
	// AllowedNamespaces selects the namespaces whose definitions may use this storage.
	// +optional
	AllowedNamespaces *metav1.LabelSelector `json:"allowedNamespaces,omitempty"`
	// WorkloadIdentity gives the runner pods of the definitions using this
	// storage a cloud identity, so credentialsSecretRef can be left out:
	// the controller annotates each runner's own ServiceAccount (and, for
	// Azure, labels its pod) as the cloud's webhook or metadata server
	// expects (docs/storage.md, "Credentials without static keys").
	// +optional
	WorkloadIdentity *WorkloadIdentity `json:"workloadIdentity,omitempty"`
}

// WorkloadIdentity names the cloud identity runner pods run as. It is on
// the storage, not the definition: which cloud role may write a bucket is
// the storage owner's decision, and a tenant must not pick a role.
// +kubebuilder:validation:XValidation:rule="has(self.awsRoleARN) || has(self.gcpServiceAccount) || has(self.azureClientID) || (has(self.awsPodIdentity) && self.awsPodIdentity)",message="set awsRoleARN, awsPodIdentity, gcpServiceAccount or azureClientID"
type WorkloadIdentity struct {
	// AWSRoleARN is an IAM role for IRSA: the ServiceAccount annotation
	// eks.amazonaws.com/role-arn.
	// +kubebuilder:validation:Pattern=`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`
	// +optional
	AWSRoleARN string `json:"awsRoleARN,omitempty"`
	// AWSPodIdentity runs each runner as a ServiceAccount of its own,
	// runner-<namespace>-<name> in the operator namespace, without an
	// annotation, for an EKS Pod Identity association you create for that
	// name (EKS's agent, not an annotation, gives the pod its role).
	// +optional
	AWSPodIdentity bool `json:"awsPodIdentity,omitempty"`
	// GCPServiceAccount is a Google service account for GKE workload
	// identity: the ServiceAccount annotation iam.gke.io/gcp-service-account.
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	// +optional
	GCPServiceAccount string `json:"gcpServiceAccount,omitempty"`
	// AzureClientID is a managed identity's or application's client id for
	// Azure workload identity: the ServiceAccount annotation
	// azure.workload.identity/client-id, and the pod label
	// azure.workload.identity/use: "true".
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	// +optional
	AzureClientID string `json:"azureClientID,omitempty"`
}

// S3Storage is an S3-compatible bucket.
type S3Storage struct {
	Bucket string `json:"bucket"`
	// Prefix is prepended to every object key.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// Endpoint of a non-AWS server such as MinIO, e.g. http://127.0.0.1:9000.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// +optional
	Region string `json:"region,omitempty"`
	// ForcePathStyle addresses the bucket as endpoint/bucket (MinIO, Ceph).
	// +optional
	ForcePathStyle bool `json:"forcePathStyle,omitempty"`
	// CredentialsSecretRef names a Secret with keys accessKeyID and secretAccessKey.
	// Without it, the AWS SDK default credential chain is used (IRSA, Pod
	// Identity, instance metadata, AWS_* variables).
	CredentialsSecretRef *SecretReference `json:"credentialsSecretRef,omitempty"`
	// ServerSideEncryption asks S3 to encrypt every object it stores, on
	// top of Coffer's own age encryption: AES256 (SSE-S3) or aws:kms
	// (SSE-KMS, under kmsKeyID or the bucket's default KMS key). Sent with
	// every upload; a bucket policy that demands it then accepts Coffer's
	// writes.
	// +kubebuilder:validation:Enum=AES256;"aws:kms"
	// +optional
	ServerSideEncryption string `json:"serverSideEncryption,omitempty"`
	// KMSKeyID is the KMS key (id, ARN or alias) of SSE-KMS; only with
	// serverSideEncryption aws:kms.
	// +optional
	KMSKeyID string `json:"kmsKeyID,omitempty"`
}

// AzureStorage is an Azure Blob Storage container. Without a shared key or
// SAS token the runner uses its pod's Azure identity (AKS workload
// identity, a managed identity, or AZURE_* settings), so no key needs to
// be kept in a Secret.
type AzureStorage struct {
	// Account is the storage account name.
	Account string `json:"account"`
	// Container is the blob container; it must exist.
	Container string `json:"container"`
	// Prefix is prepended to every object key.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// Endpoint is the blob service URL when it is not
	// https://<account>.blob.core.windows.net, e.g. Azurite's
	// http://127.0.0.1:10000/<account>.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// SharedKeySecretRef points at the storage account key.
	// +optional
	SharedKeySecretRef *SecretKeySelector `json:"sharedKeySecretRef,omitempty"`
	// SASTokenSecretRef points at a SAS token for the container (with
	// read, add, create, write, delete and list permissions).
	// +optional
	SASTokenSecretRef *SecretKeySelector `json:"sasTokenSecretRef,omitempty"`
}

// GCSStorage is a Google Cloud Storage bucket. Without a credentials
// Secret the runner uses application default credentials (GKE workload
// identity, the node's service account).
type GCSStorage struct {
	Bucket string `json:"bucket"`
	// Prefix is prepended to every object key.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// Endpoint of a GCS-compatible server or emulator, e.g.
	// http://127.0.0.1:4443; empty for Google.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// CredentialsSecretRef points at a service-account key (JSON).
	// +optional
	CredentialsSecretRef *SecretKeySelector `json:"credentialsSecretRef,omitempty"`
}

// FilesystemStorage is a directory.
type FilesystemStorage struct {
	Path string `json:"path"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
}

// Encryption with age X25519 keys. Backups need only the recipients (public
// keys); verify and restore need the identity.
type Encryption struct {
	// Recipients are age public keys (age1...).
	Recipients []string `json:"recipients"`
	// IdentitySecretRef points at the age identity (AGE-SECRET-KEY-1...).
	// +optional
	IdentitySecretRef *SecretKeySelector `json:"identitySecretRef,omitempty"`
}

// Compression settings. Every object is one zstd frame whatever the level.
type Compression struct {
	// Level is fastest (zstd level 1, the default: keeps up with pg_dump on
	// small machines), default (level 3), better (level 7), best (level 11)
	// or none (zstd frames of raw blocks: for data that does not compress,
	// or where CPU matters more than the bytes stored).
	// +kubebuilder:validation:Enum=fastest;default;better;best;none
	// +optional
	Level string `json:"level,omitempty"`
}

// UploadSettings bound the memory of one upload: PartSizeMiB × Concurrency.
type UploadSettings struct {
	// PartSizeMiB is the multipart part size; 5..5120 (at most 4000 on
	// Azure, its block limit). Default 16.
	// +optional
	PartSizeMiB int `json:"partSizeMiB,omitempty"`
	// Concurrency is the number of parts in flight; 1..16. Default 2.
	// +optional
	Concurrency int `json:"concurrency,omitempty"`
}

// StorageFormat is the format a storage writes new backups in.
type StorageFormat string

const (
	// StorageFormatChunked is storage format version 2: chunked, deduplicated.
	StorageFormatChunked StorageFormat = "Chunked"
	// StorageFormatStream is storage format version 1: one object per target.
	StorageFormatStream StorageFormat = "Stream"
)

// ChunkedFormat configures format version 2.
type ChunkedFormat struct {
	// KeySecretRef points at the dedup key: at least 32 bytes, e.g.
	// `openssl rand -hex 32`. It names chunks (keyed BLAKE3) and places
	// their boundaries; it cannot decrypt anything, and restores do not
	// need it. Changing or losing it makes every later backup store all
	// its chunks again. Without it the controller generates a key into
	// the Secret <storage>-dedup-key; coffer-runner run standalone needs it.
	// +optional
	KeySecretRef *SecretKeySelector `json:"keySecretRef,omitempty"`
}

// BackupStorageStatus reports whether the storage is usable.
type BackupStorageStatus struct {
	// Format is the format new backups are written in, as the controller
	// decided it (spec.format). Once recorded it is kept, unless
	// spec.format or spec.chunked says otherwise.
	// +optional
	Format StorageFormat `json:"format,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BackupStorage is a place backups are written to.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Format",type=string,JSONPath=`.status.format`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackupStorage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupStorageSpec   `json:"spec"`
	Status BackupStorageStatus `json:"status,omitempty"`
}

// BackupStorageList is a list of BackupStorages.
// +kubebuilder:object:root=true
type BackupStorageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupStorage `json:"items"`
}
