package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/scheduler"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// fieldErrs collects errors that each name a field of one object.
type fieldErrs struct {
	file, obj string
	errs      []error
}

func (f *fieldErrs) add(field, format string, args ...any) {
	f.errs = append(f.errs, fmt.Errorf("%s: %s: %s: %s", f.file, f.obj, field, fmt.Sprintf(format, args...)))
}

func (c *Config) validate() error {
	sErrs := &fieldErrs{file: c.Path, obj: describe("BackupStorage", c.Storage.Namespace, c.Storage.Name)}
	c.validateStorage(sErrs)
	dErrs := &fieldErrs{file: c.Path, obj: describe("BackupDefinition", c.Definition.Namespace, c.Definition.Name)}
	c.validateDefinition(dErrs)
	return errors.Join(append(sErrs.errs, dErrs.errs...)...)
}

func (c *Config) validateStorage(f *fieldErrs) {
	s := c.Storage.Spec
	c.validateLocation(f, "spec", location{s.S3, s.Filesystem, s.Azure, s.GCS})
	c.validateUpload(f, "spec.upload", s.Upload, s.Azure != nil)
	if s.Offsite != nil {
		c.validateOffsite(f, s.Offsite)
	}
	if e := s.Encryption; e != nil {
		if len(e.Recipients) == 0 {
			f.add("spec.encryption.recipients", "at least one age public key (age1...) is required")
		}
		for i, r := range e.Recipients {
			if _, err := age.ParseX25519Recipient(r); err != nil {
				f.add(fmt.Sprintf("spec.encryption.recipients[%d]", i), "not an age X25519 public key: %v", err)
			}
		}
		if e.IdentitySecretRef != nil {
			c.checkSecretKey(f, "spec.encryption.identitySecretRef", e.IdentitySecretRef)
		}
	}
	switch ch := s.Chunked; {
	case s.Format == v1alpha1.StorageFormatChunked && ch == nil:
		f.add("spec.format", "Chunked needs spec.chunked.keySecretRef here: only the controller generates a dedup key (e.g. `openssl rand -hex 32` into a Secret)")
	case ch != nil && ch.KeySecretRef == nil && s.Format != v1alpha1.StorageFormatStream:
		f.add("spec.chunked.keySecretRef", "required: only the controller generates a dedup key (e.g. `openssl rand -hex 32` into a Secret)")
	case ch != nil && ch.KeySecretRef != nil && s.Format != v1alpha1.StorageFormatStream:
		c.checkSecretKey(f, "spec.chunked.keySecretRef", ch.KeySecretRef)
	}
	switch s.Format {
	case "", v1alpha1.StorageFormatChunked, v1alpha1.StorageFormatStream:
	default:
		f.add("spec.format", "%q is not Chunked or Stream", s.Format)
	}
	if c := s.Compression; c != nil {
		if _, err := zframe.ParseLevel(c.Level); err != nil {
			f.add("spec.compression.level", "%v", err)
		}
	}
}

func (c *Config) validateDefinition(f *fieldErrs) {
	d := c.Definition.Spec
	if d.StorageRef.Name == "" {
		f.add("spec.storageRef.name", "required")
	} else if d.StorageRef.Name != c.Storage.Name {
		f.add("spec.storageRef.name", "%q is not the BackupStorage in this file (%q)", d.StorageRef.Name, c.Storage.Name)
	}
	if strings.HasPrefix(d.Schedule, "CRON_TZ=") || strings.HasPrefix(d.Schedule, "TZ=") {
		f.add("spec.schedule", "%q: set the time zone in spec.timeZone, not in the schedule", d.Schedule)
	} else if d.Schedule != "" {
		if err := scheduler.Validate(d.Schedule); err != nil {
			f.add("spec.schedule", "invalid cron expression %q: %v", d.Schedule, err)
		}
	}
	if d.TimeZone != "" {
		if _, err := time.LoadLocation(d.TimeZone); err != nil {
			f.add("spec.timeZone", "unknown time zone %q", d.TimeZone)
		}
	}
	if r := d.Retention; r != nil {
		for name, n := range map[string]int{"hourly": r.Hourly, "daily": r.Daily, "weekly": r.Weekly, "monthly": r.Monthly, "yearly": r.Yearly, "manual": r.Manual} {
			if n < 0 {
				f.add("spec.retention."+name, "must not be negative, got %d", n)
			}
		}
	}
	c.validateProving(f)
	if r := d.Runner; r != nil && r.DrainTimeout != nil && r.DrainTimeout.Duration < 0 {
		f.add("spec.runner.drainTimeout", "must not be negative, got %v", r.DrainTimeout.Duration)
	}
	if len(d.Targets) == 0 {
		f.add("spec.targets", "at least one target is required")
	}
	seen := map[string]int{}
	for i, t := range d.Targets {
		field := fmt.Sprintf("spec.targets[%d]", i)
		// Target names become object names (internal/layout).
		if !layout.ValidTarget(t.Name) {
			f.add(field+".name", "%q must be a DNS label (lower-case letters, digits, '-')", t.Name)
		}
		if j, dup := seen[t.Name]; dup {
			f.add(field+".name", "duplicate target name %q (also spec.targets[%d])", t.Name, j)
		}
		seen[t.Name] = i
		c.validateTarget(f, field, t)
	}
}

// validateTarget checks a target's one engine block with its engine's
// registry entry: the block itself, and that each Secret it references is
// in the file.
func (c *Config) validateTarget(f *fieldErrs, field string, t v1alpha1.Target) {
	selected := all.Selected(&t)
	switch len(selected) {
	case 0:
		f.add(field, "exactly one engine block is required (%s)", strings.Join(all.Blocks(), ", "))
		return
	case 1:
	default:
		names := make([]string, len(selected))
		for i, e := range selected {
			names[i] = e.Block
		}
		f.add(field, "exactly one engine block is allowed, found %s", strings.Join(names, ", "))
	}
	for _, e := range selected {
		block := field + "." + e.Block
		e.Validate(&t, blockProblems{f: f, prefix: block})
		if e.ValidateStorage != nil {
			e.ValidateStorage(&t, &c.Storage.Spec, blockProblems{f: f, prefix: block})
		}
		for _, r := range e.SecretRefs(&t) {
			c.checkSecretKey(f, block+"."+r.Field, r.Ref)
		}
	}
}

// blockProblems reports a block's problems under its field path.
type blockProblems struct {
	f      *fieldErrs
	prefix string
}

func (p blockProblems) Add(field, format string, args ...any) {
	if field == "" {
		p.f.add(p.prefix, format, args...)
		return
	}
	p.f.add(p.prefix+"."+field, format, args...)
}

func (c *Config) checkSecretKey(f *fieldErrs, field string, ref *v1alpha1.SecretKeySelector) {
	if ref.Name == "" {
		f.add(field+".name", "required")
		return
	}
	data, ok := c.Secrets[ref.Name]
	if !ok {
		f.add(field, "Secret %q is not in the file", ref.Name)
		return
	}
	if ref.Key == "" {
		f.add(field+".key", "required")
		return
	}
	if _, ok := data[ref.Key]; !ok {
		f.add(field, "Secret %q has no key %q", ref.Name, ref.Key)
	}
}
