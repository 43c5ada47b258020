package config

import (
	"errors"
	"fmt"
	"github.com/coffer-dev/coffer/internal/chunked"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/storage"
)

// ErrNoIdentity: the storage encrypts, but the file carries no age identity.
var ErrNoIdentity = errors.New("no age identity")

// StorageConfig resolves the BackupStorage into a storage.Config, reading the
// credentials Secret.
func (c *Config) StorageConfig() (storage.Config, error) {
	s := c.Storage.Spec
	return c.storageConfig("spec", location{s.S3, s.Filesystem, s.Azure, s.GCS}, s.Upload)
}

// location is one storage block's backend: the primary's at spec, the
// offsite copy's at spec.offsite. Exactly one field is set.
type location struct {
	S3         *v1alpha1.S3Storage
	Filesystem *v1alpha1.FilesystemStorage
	Azure      *v1alpha1.AzureStorage
	GCS        *v1alpha1.GCSStorage
}

// storageConfig resolves one storage block (the primary at spec, the
// offsite copy at spec.offsite).
func (c *Config) storageConfig(field string, loc location, up *v1alpha1.UploadSettings) (storage.Config, error) {
	s3spec, fs, az := loc.S3, loc.Filesystem, loc.Azure
	var out storage.Config
	if up != nil {
		out.PartSize = int64(up.PartSizeMiB) << 20
		out.Concurrency = up.Concurrency
	}
	switch {
	case fs != nil:
		out.Prefix = fs.Prefix
		out.Filesystem = &storage.FilesystemConfig{Path: fs.Path}
	case s3spec != nil:
		out.Prefix = s3spec.Prefix
		s3 := &storage.S3Config{Bucket: s3spec.Bucket, Endpoint: s3spec.Endpoint, Region: s3spec.Region, ForcePathStyle: s3spec.ForcePathStyle,
			ServerSideEncryption: s3spec.ServerSideEncryption, KMSKeyID: s3spec.KMSKeyID}
		if ref := s3spec.CredentialsSecretRef; ref != nil {
			var err error
			credField := field + ".s3.credentialsSecretRef"
			if s3.AccessKeyID, err = c.Secrets.Value(&v1alpha1.SecretKeySelector{Name: ref.Name, Key: "accessKeyID"}); err != nil {
				return out, c.storageErr(credField, err)
			}
			if s3.SecretAccessKey, err = c.Secrets.Value(&v1alpha1.SecretKeySelector{Name: ref.Name, Key: "secretAccessKey"}); err != nil {
				return out, c.storageErr(credField, err)
			}
		}
		out.S3 = s3
	case az != nil:
		out.Prefix = az.Prefix
		a := &storage.AzureConfig{Account: az.Account, Container: az.Container, Endpoint: az.Endpoint}
		var err error
		if ref := az.SharedKeySecretRef; ref != nil {
			if a.SharedKey, err = c.Secrets.Value(ref); err != nil {
				return out, c.storageErr(field+".azure.sharedKeySecretRef", err)
			}
		}
		if ref := az.SASTokenSecretRef; ref != nil {
			if a.SASToken, err = c.Secrets.Value(ref); err != nil {
				return out, c.storageErr(field+".azure.sasTokenSecretRef", err)
			}
		}
		out.Azure = a
	case loc.GCS != nil:
		g := loc.GCS
		out.Prefix = g.Prefix
		out.GCS = &storage.GCSConfig{Bucket: g.Bucket, Endpoint: g.Endpoint}
		if ref := g.CredentialsSecretRef; ref != nil {
			var err error
			if out.GCS.CredentialsJSON, err = c.Secrets.Value(ref); err != nil {
				return out, c.storageErr(field+".gcs.credentialsSecretRef", err)
			}
		}
	default:
		return out, c.storageErr(field, errors.New("no s3, filesystem, azure or gcs"))
	}
	return out, nil
}

// Recipients are the age public keys backups are encrypted to; nil when the
// storage does not encrypt.
func (c *Config) Recipients() ([]age.Recipient, error) {
	e := c.Storage.Spec.Encryption
	if e == nil {
		return nil, nil
	}
	out := make([]age.Recipient, 0, len(e.Recipients))
	for i, r := range e.Recipients {
		rc, err := age.ParseX25519Recipient(r)
		if err != nil {
			return nil, c.storageErr(fmt.Sprintf("spec.encryption.recipients[%d]", i), err)
		}
		out = append(out, rc)
	}
	return out, nil
}

// Identities are the age private keys that decrypt backups. It is an error
// wrapping ErrNoIdentity when the storage encrypts and no identity is given;
// nil, nil when the storage does not encrypt.
func (c *Config) Identities() ([]age.Identity, error) {
	e := c.Storage.Spec.Encryption
	if e == nil {
		return nil, nil
	}
	if e.IdentitySecretRef == nil {
		return nil, c.storageErr("spec.encryption.identitySecretRef",
			fmt.Errorf("%w: verify and restore need the age identity (AGE-SECRET-KEY-1...) in a Secret", ErrNoIdentity))
	}
	v, err := c.Secrets.Value(e.IdentitySecretRef)
	if err != nil {
		return nil, c.storageErr("spec.encryption.identitySecretRef", err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(v))
	if err != nil {
		// The parse error could quote the key; say only where it came from.
		return nil, c.storageErr("spec.encryption.identitySecretRef",
			fmt.Errorf("Secret %q key %q does not hold an age identity", e.IdentitySecretRef.Name, e.IdentitySecretRef.Key))
	}
	return ids, nil
}

// DedupKey is the storage's dedup key (spec.chunked.keySecretRef) for
// format version 2, or nil when the storage writes format 1: without
// spec.chunked, or with spec.format Stream. A runner config is explicit:
// the controller's default format and generated key are rendered into it. The key is the
// Secret's value without surrounding white space; errors never quote it.
func (c *Config) DedupKey() (*chunked.Key, error) {
	ch := c.Storage.Spec.Chunked
	if ch == nil || c.Storage.Spec.Format == v1alpha1.StorageFormatStream {
		return nil, nil
	}
	if ch.KeySecretRef == nil { // Validate says so first
		return nil, c.storageErr("spec.chunked.keySecretRef", errors.New("required to write format 2"))
	}
	v, err := c.Secrets.Value(ch.KeySecretRef)
	if err != nil {
		return nil, c.storageErr("spec.chunked.keySecretRef", err)
	}
	k, err := chunked.NewKey([]byte(strings.TrimSpace(v)))
	if err != nil {
		return nil, c.storageErr("spec.chunked.keySecretRef", fmt.Errorf("Secret %q key %q: %w", ch.KeySecretRef.Name, ch.KeySecretRef.Key, err))
	}
	return k, nil
}

// Location is the definition's time zone (UTC by default).
func (c *Config) Location() *time.Location {
	if tz := c.Definition.Spec.TimeZone; tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (c *Config) storageErr(field string, err error) error {
	return fmt.Errorf("%s: %s: %s: %w", c.Path, describe("BackupStorage", c.Storage.Namespace, c.Storage.Name), field, err)
}
