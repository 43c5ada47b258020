package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// validateProving checks what proves the backups: the offsite keep-counts,
// scheduled verification and restore tests.
func (c *Config) validateProving(f *fieldErrs) {
	d := c.Definition.Spec
	if r := d.Retention; r != nil && r.Offsite != nil {
		o := r.Offsite
		for name, n := range map[string]int{"hourly": o.Hourly, "daily": o.Daily, "weekly": o.Weekly, "monthly": o.Monthly, "yearly": o.Yearly, "manual": o.Manual} {
			if n < 0 {
				f.add("spec.retention.offsite."+name, "must not be negative, got %d", n)
			}
		}
		if !c.HasOffsite() {
			f.add("spec.retention.offsite", "BackupStorage %q has no spec.offsite to keep backups in", c.Storage.Name)
		}
	}
	if v := d.Verify; v != nil {
		validSchedule(f, "spec.verify.schedule", v.Schedule, true)
		if v.Newest < 0 {
			f.add("spec.verify.newest", "must not be negative, got %d", v.Newest)
		}
		if v.Newest > 0 && v.Budget != nil {
			f.add("spec.verify", "newest and budget exclude each other")
		}
		if v.Budget != nil && v.Budget.Sign() <= 0 {
			f.add("spec.verify.budget", "must be positive, got %s", v.Budget.String())
		}
		if v.Offsite && !c.HasOffsite() {
			f.add("spec.verify.offsite", "BackupStorage %q has no spec.offsite to verify", c.Storage.Name)
		}
	}
	if rt := d.RestoreTest; rt != nil {
		c.validateRestoreTest(f, rt)
	}
}

func (c *Config) validateRestoreTest(f *fieldErrs, rt *v1alpha1.RestoreTestSpec) {
	validSchedule(f, "spec.restoreTest.schedule", rt.Schedule, true)
	seen := map[string]bool{}
	for i, t := range rt.Targets {
		field := fmt.Sprintf("spec.restoreTest.targets[%d]", i)
		if seen[t.Name] {
			f.add(field+".name", "duplicate target %q", t.Name)
		}
		seen[t.Name] = true
		target, ok := c.Target(t.Name)
		kind := restoreTestKind(target.Spec)
		switch {
		case !ok:
			f.add(field+".name", "%q is not a target of this definition", t.Name)
		case kind == "":
			f.add(field+".name", "target %q is not a target restore tests can use (postgres, mysql, filesystem, kubernetes)", t.Name)
		}
		validateRestoreTestKind(f, field, t, kind)
		if s := t.Server; s != nil {
			if s.Host == "" {
				f.add(field+".server.host", "required")
			}
			if s.User == "" {
				f.add(field+".server.user", "required")
			}
			if s.Port < 0 || s.Port > 65535 {
				f.add(field+".server.port", "%d is not a TCP port", s.Port)
			}
			if s.PasswordSecretRef != nil {
				c.checkSecretKey(f, field+".server.passwordSecretRef", s.PasswordSecretRef)
			}
		}
		for j, chk := range t.Checks {
			if strings.TrimSpace(chk) == "" {
				f.add(fmt.Sprintf("%s.checks[%d]", field, j), "empty statement")
			}
		}
	}
	if len(rt.Targets) == 0 && len(c.RestoreTestTargets()) == 0 {
		f.add("spec.restoreTest", "the definition has no postgres or mysql target to test")
	}
}

// validateRestoreTestKind refuses the fields a target's kind of restore
// test does not use: a server and checks are for database targets, a
// scratch directory for filesystem targets.
func validateRestoreTestKind(f *fieldErrs, field string, t v1alpha1.RestoreTestTarget, kind all.RestoreTestKind) {
	if kind == "" {
		return
	}
	if kind != all.RestoreTestDatabase && t.Server != nil {
		f.add(field+".server", "only postgres and mysql targets restore into a scratch server; target %q is tested by %s", t.Name, kind)
	}
	if kind != all.RestoreTestDatabase && len(t.Checks) > 0 {
		f.add(field+".checks", "checks are SQL statements for postgres and mysql targets; target %q is tested by %s", t.Name, kind)
	}
	if kind != all.RestoreTestDirectory && t.ScratchDirectory != "" {
		f.add(field+".scratchDirectory", "only filesystem targets restore into a scratch directory; target %q is tested by %s", t.Name, kind)
	}
	if d := t.ScratchDirectory; d != "" && !filepath.IsAbs(d) {
		f.add(field+".scratchDirectory", "%q is not an absolute path", d)
	}
}

// restoreTestKind is how restore tests prove t's backups; empty when
// they cannot.
func restoreTestKind(t v1alpha1.Target) all.RestoreTestKind {
	e, ok := all.RestoreTestable(&t)
	if !ok {
		return ""
	}
	return e.RestoreTest
}

// RestoreTestTargets are the restore test's targets: those it lists, or,
// when it lists none, every postgres and mysql target, each on its own
// server without checks (filesystem and kubernetes targets are tested
// only when listed: their tests need room, or write rights, a definition
// written before they existed did not ask for). Nil without
// spec.restoreTest.
func (c *Config) RestoreTestTargets() []v1alpha1.RestoreTestTarget {
	rt := c.Definition.Spec.RestoreTest
	if rt == nil {
		return nil
	}
	if len(rt.Targets) > 0 {
		return rt.Targets
	}
	var out []v1alpha1.RestoreTestTarget
	for _, t := range c.Definition.Spec.Targets {
		if restoreTestKind(t) == all.RestoreTestDatabase {
			out = append(out, v1alpha1.RestoreTestTarget{Name: t.Name})
		}
	}
	return out
}

func validSchedule(f *fieldErrs, field, spec string, required bool) {
	switch {
	case spec == "" && required:
		f.add(field, "required")
	case strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ="):
		f.add(field, "%q: set the time zone in spec.timeZone, not in the schedule", spec)
	case spec != "":
		if err := scheduler.Validate(spec); err != nil {
			f.add(field, "invalid cron expression %q: %v", spec, err)
		}
	}
}
