package controller

import "github.com/coffer-dev/coffer/api/v1alpha1"

// s3CredentialRefs are the storage's S3 credentials Secrets, the primary's
// and the offsite copy's, as pointers so the renderer can rename them.
func s3CredentialRefs(spec *v1alpha1.BackupStorageSpec) []*v1alpha1.SecretReference {
	var refs []*v1alpha1.SecretReference
	if c := spec.S3; c != nil && c.CredentialsSecretRef != nil {
		refs = append(refs, c.CredentialsSecretRef)
	}
	if o := spec.Offsite; o != nil && o.S3 != nil && o.S3.CredentialsSecretRef != nil {
		refs = append(refs, o.S3.CredentialsSecretRef)
	}
	return refs
}

// offsiteAzure is the offsite copy's Azure block, if any.
func offsiteAzure(spec *v1alpha1.BackupStorageSpec) *v1alpha1.AzureStorage {
	if spec.Offsite == nil {
		return nil
	}
	return spec.Offsite.Azure
}

// offsiteGCS is the offsite copy's GCS block, if any.
func offsiteGCS(spec *v1alpha1.BackupStorageSpec) *v1alpha1.GCSStorage {
	if spec.Offsite == nil {
		return nil
	}
	return spec.Offsite.GCS
}
