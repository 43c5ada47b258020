package config

import (
	"fmt"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/storage"
)

// HasOffsite reports whether the storage names an offsite copy.
func (c *Config) HasOffsite() bool { return c.Storage.Spec.Offsite != nil }

// OffsiteStorageConfig resolves the storage's offsite copy into a
// storage.Config, reading its own credentials Secret. Upload settings it
// leaves out are the primary's.
func (c *Config) OffsiteStorageConfig() (storage.Config, error) {
	o := c.Storage.Spec.Offsite
	if o == nil {
		return storage.Config{}, c.storageErr("spec.offsite", fmt.Errorf("not set: the storage has no offsite copy"))
	}
	up := o.Upload
	if up == nil {
		up = c.Storage.Spec.Upload
	}
	return c.storageConfig("spec.offsite", location{o.S3, o.Filesystem, o.Azure, o.GCS}, up)
}

// validateLocation checks one storage block: exactly one backend, and the
// fields and Secret keys the backend needs.
func (c *Config) validateLocation(f *fieldErrs, field string, loc location) {
	s3, fs, az := loc.S3, loc.Filesystem, loc.Azure
	set := 0
	for _, b := range []bool{s3 != nil, fs != nil, az != nil, loc.GCS != nil} {
		if b {
			set++
		}
	}
	switch {
	case set == 0:
		f.add(field, "one of s3, filesystem, azure or gcs is required")
	case set > 1:
		f.add(field, "only one of s3, filesystem, azure or gcs may be set")
	}
	if g := loc.GCS; g != nil {
		if g.Bucket == "" {
			f.add(field+".gcs.bucket", "required")
		}
		if g.CredentialsSecretRef != nil {
			c.checkSecretKey(f, field+".gcs.credentialsSecretRef", g.CredentialsSecretRef)
		}
	}
	if az != nil {
		if az.Account == "" {
			f.add(field+".azure.account", "required")
		}
		if az.Container == "" {
			f.add(field+".azure.container", "required")
		}
		if az.SharedKeySecretRef != nil && az.SASTokenSecretRef != nil {
			f.add(field+".azure", "sharedKeySecretRef and sasTokenSecretRef exclude each other")
		}
		for name, ref := range map[string]*v1alpha1.SecretKeySelector{"sharedKeySecretRef": az.SharedKeySecretRef, "sasTokenSecretRef": az.SASTokenSecretRef} {
			if ref != nil {
				c.checkSecretKey(f, field+".azure."+name, ref)
			}
		}
	}
	if s3 != nil {
		if s3.Bucket == "" {
			f.add(field+".s3.bucket", "required")
		}
		if ref := s3.CredentialsSecretRef; ref != nil {
			for _, key := range []string{"accessKeyID", "secretAccessKey"} {
				c.checkSecretKey(f, field+".s3.credentialsSecretRef", &v1alpha1.SecretKeySelector{Name: ref.Name, Key: key})
			}
		}
		switch sse := s3.ServerSideEncryption; {
		case sse != "" && sse != storage.SSES3 && sse != storage.SSEKMS:
			f.add(field+".s3.serverSideEncryption", "%q is not %s (SSE-S3) or %s (SSE-KMS)", sse, storage.SSES3, storage.SSEKMS)
		case s3.KMSKeyID != "" && sse != storage.SSEKMS:
			f.add(field+".s3.kmsKeyID", "needs serverSideEncryption %s", storage.SSEKMS)
		}
	}
	if fs != nil && fs.Path == "" {
		f.add(field+".filesystem.path", "required")
	}
}

// validateUpload checks the upload settings of a storage block; azure
// says whether the block is Azure's, whose blocks are smaller than S3's
// parts may be.
func (c *Config) validateUpload(f *fieldErrs, field string, u *v1alpha1.UploadSettings, azure bool) {
	if u == nil {
		return
	}
	azureMax := int(storage.AzureMaxBlockSize >> 20)
	switch {
	case u.PartSizeMiB != 0 && (u.PartSizeMiB < 5 || u.PartSizeMiB > 5120):
		f.add(field+".partSizeMiB", "%d is outside 5..5120", u.PartSizeMiB)
	case azure && u.PartSizeMiB > azureMax:
		f.add(field+".partSizeMiB", "%d is above Azure's block limit of %d MiB", u.PartSizeMiB, azureMax)
	}
	if u.Concurrency != 0 && (u.Concurrency < 1 || u.Concurrency > 16) {
		f.add(field+".concurrency", "%d is outside 1..16", u.Concurrency)
	}
}

// validateOffsite checks the offsite block, and refuses an offsite copy
// that is the primary storage itself: copying a backup onto itself would
// prove nothing and retention would run twice over the same keys.
func (c *Config) validateOffsite(f *fieldErrs, o *v1alpha1.OffsiteStorage) {
	c.validateLocation(f, "spec.offsite", location{o.S3, o.Filesystem, o.Azure, o.GCS})
	if o.Upload != nil {
		c.validateUpload(f, "spec.offsite.upload", o.Upload, o.Azure != nil)
	} else if o.Azure != nil && c.Storage.Spec.Upload != nil {
		// The offsite copy takes the primary's settings: they must suit Azure too.
		c.validateUpload(f, "spec.upload (which spec.offsite.azure uses, having no upload of its own)", c.Storage.Spec.Upload, true)
	}
	p := c.Storage.Spec
	switch {
	case o.S3 != nil && p.S3 != nil && o.S3.Bucket == p.S3.Bucket && o.S3.Endpoint == p.S3.Endpoint && o.S3.Prefix == p.S3.Prefix:
		f.add("spec.offsite.s3", "is the primary storage itself (same endpoint, bucket and prefix)")
	case o.Azure != nil && p.Azure != nil && o.Azure.Account == p.Azure.Account && o.Azure.Container == p.Azure.Container && o.Azure.Endpoint == p.Azure.Endpoint && o.Azure.Prefix == p.Azure.Prefix:
		f.add("spec.offsite.azure", "is the primary storage itself (same account, container, endpoint and prefix)")
	case o.GCS != nil && p.GCS != nil && o.GCS.Bucket == p.GCS.Bucket && o.GCS.Endpoint == p.GCS.Endpoint && o.GCS.Prefix == p.GCS.Prefix:
		f.add("spec.offsite.gcs", "is the primary storage itself (same endpoint, bucket and prefix)")
	case o.Filesystem != nil && p.Filesystem != nil && o.Filesystem.Path == p.Filesystem.Path && o.Filesystem.Prefix == p.Filesystem.Prefix:
		f.add("spec.offsite.filesystem", "is the primary storage itself (same path and prefix)")
	}
}
