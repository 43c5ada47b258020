package v1alpha1

// OffsiteStorage is a second storage, usually at another site, that every
// committed backup is copied to byte for byte: objects are copied as
// stored (compressed, and encrypted with the storage's age recipients),
// then the manifest last, so a copy is either complete or does not exist
// offsite. Exactly one of S3 or Filesystem is set; the keys below its
// prefix are the same as in the primary storage (docs/offsite.md).
// +kubebuilder:validation:XValidation:rule="(has(self.s3) ? 1 : 0) + (has(self.filesystem) ? 1 : 0) + (has(self.azure) ? 1 : 0) + (has(self.gcs) ? 1 : 0) == 1",message="exactly one of s3, filesystem, azure or gcs is required"
type OffsiteStorage struct {
	// S3 copies to an S3-compatible bucket: another endpoint, bucket or
	// region, with its own credentials Secret.
	// +optional
	S3 *S3Storage `json:"s3,omitempty"`
	// Filesystem copies under a local directory (an NFS mount, a disk).
	// +optional
	Filesystem *FilesystemStorage `json:"filesystem,omitempty"`
	// Azure copies to an Azure Blob Storage container.
	// +optional
	Azure *AzureStorage `json:"azure,omitempty"`
	// GCS stores backups in a Google Cloud Storage bucket.
	// +optional
	GCS *GCSStorage `json:"gcs,omitempty"`
	// Upload tunes the copy's uploads; the primary's settings when unset.
	// +optional
	Upload *UploadSettings `json:"upload,omitempty"`
}

// OffsiteRetention are the keep-counts of the offsite copy. Unset, the
// offsite copy keeps what the primary keeps; set, these counts replace the
// primary's for the offsite copy (a count left out is 0: the label is not
// used offsite), typically to keep more, longer.
type OffsiteRetention struct {
	// +kubebuilder:validation:Minimum=0
	// +optional
	Hourly int `json:"hourly,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	Daily int `json:"daily,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	Weekly int `json:"weekly,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	Monthly int `json:"monthly,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	Yearly int `json:"yearly,omitempty"`
	// Manual keeps the newest N on-demand backups offsite; 0 means 10.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Manual int `json:"manual,omitempty"`
}

// Where a restore, list or verify reads from.
const (
	// FromPrimary is the definition's storage (the default).
	FromPrimary = "primary"
	// FromOffsite is the storage's offsite copy.
	FromOffsite = "offsite"
)
