package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/robfig/cron/v3"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// targetName: target names become object names, so keep them to a DNS label.
var targetName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// CronParser is the one cron dialect Coffer accepts: five fields or a
// descriptor such as @hourly.
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

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
	switch {
	case s.S3 == nil && s.Filesystem == nil:
		f.add("spec", "one of s3 or filesystem is required")
	case s.S3 != nil && s.Filesystem != nil:
		f.add("spec", "only one of s3 or filesystem may be set")
	}
	if s.S3 != nil {
		if s.S3.Bucket == "" {
			f.add("spec.s3.bucket", "required")
		}
		if ref := s.S3.CredentialsSecretRef; ref != nil {
			for _, key := range []string{"accessKeyID", "secretAccessKey"} {
				c.checkSecretKey(f, "spec.s3.credentialsSecretRef", &v1alpha1.SecretKeySelector{Name: ref.Name, Key: key})
			}
		}
	}
	if s.Filesystem != nil && s.Filesystem.Path == "" {
		f.add("spec.filesystem.path", "required")
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
	if c := s.Compression; c != nil {
		switch c.Level {
		case "", "fastest", "default", "better", "best":
		default:
			f.add("spec.compression.level", "%q is not one of fastest, default, better, best", c.Level)
		}
	}
	if u := s.Upload; u != nil {
		if u.PartSizeMiB != 0 && (u.PartSizeMiB < 5 || u.PartSizeMiB > 5120) {
			f.add("spec.upload.partSizeMiB", "%d is outside 5..5120", u.PartSizeMiB)
		}
		if u.Concurrency != 0 && (u.Concurrency < 1 || u.Concurrency > 16) {
			f.add("spec.upload.concurrency", "%d is outside 1..16", u.Concurrency)
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
		if _, err := CronParser.Parse(d.Schedule); err != nil {
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
	if len(d.Targets) == 0 {
		f.add("spec.targets", "at least one target is required")
	}
	seen := map[string]int{}
	for i, t := range d.Targets {
		field := fmt.Sprintf("spec.targets[%d]", i)
		if !targetName.MatchString(t.Name) {
			f.add(field+".name", "%q must be a DNS label (lower-case letters, digits, '-')", t.Name)
		}
		if j, dup := seen[t.Name]; dup {
			f.add(field+".name", "duplicate target name %q (also spec.targets[%d])", t.Name, j)
		}
		seen[t.Name] = i
		c.validateTarget(f, field, t)
	}
}

func (c *Config) validateTarget(f *fieldErrs, field string, t v1alpha1.Target) {
	var blocks []string
	if p := t.Postgres; p != nil {
		blocks = append(blocks, "postgres")
		c.validateConn(f, field+".postgres", p.Host, p.Port, p.Database, p.User)
		if p.PasswordSecretRef != nil {
			c.checkSecretKey(f, field+".postgres.passwordSecretRef", p.PasswordSecretRef)
		}
	}
	if m := t.MySQL; m != nil {
		blocks = append(blocks, "mysql")
		c.validateConn(f, field+".mysql", m.Host, m.Port, m.Database, m.User)
		if m.PasswordSecretRef != nil {
			c.checkSecretKey(f, field+".mysql.passwordSecretRef", m.PasswordSecretRef)
		}
	}
	blocks = append(blocks, c.validateOtherEngines(f, field, t)...)
	switch len(blocks) {
	case 0:
		f.add(field, "exactly one engine block is required (postgres, mysql, cockroach, etcd, redis, filesystem, git)")
	case 1:
	default:
		f.add(field, "exactly one engine block is allowed, found %s", strings.Join(blocks, ", "))
	}
}

func (c *Config) validateConn(f *fieldErrs, field, host string, port int, db, user string) {
	if host == "" {
		f.add(field+".host", "required")
	}
	if port < 0 || port > 65535 {
		f.add(field+".port", "%d is not a TCP port", port)
	}
	if db == "" {
		f.add(field+".database", "required")
	}
	if user == "" {
		f.add(field+".user", "required")
	}
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
