package config

import (
	"fmt"
	"path"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// validateOtherEngines checks the engine blocks beyond postgres and mysql and
// returns the names of those set.
func (c *Config) validateOtherEngines(f *fieldErrs, field string, t v1alpha1.Target) []string {
	var blocks []string
	secret := func(name string, ref *v1alpha1.SecretKeySelector) {
		if ref != nil {
			c.checkSecretKey(f, field+"."+name, ref)
		}
	}
	if e := t.Cockroach; e != nil {
		blocks = append(blocks, "cockroach")
		c.validateConn(f, field+".cockroach", e.Host, e.Port, e.Database, e.User)
		secret("cockroach.passwordSecretRef", e.PasswordSecretRef)
	}
	if e := t.Etcd; e != nil {
		blocks = append(blocks, "etcd")
		if len(e.Endpoints) == 0 {
			f.add(field+".etcd.endpoints", "at least one endpoint is required")
		}
		secret("etcd.passwordSecretRef", e.PasswordSecretRef)
		secret("etcd.caSecretRef", e.CASecretRef)
		secret("etcd.certSecretRef", e.CertSecretRef)
		secret("etcd.keySecretRef", e.KeySecretRef)
		if (e.CertSecretRef == nil) != (e.KeySecretRef == nil) {
			f.add(field+".etcd", "certSecretRef and keySecretRef go together")
		}
	}
	if e := t.Redis; e != nil {
		blocks = append(blocks, "redis")
		if e.Host == "" {
			f.add(field+".redis.host", "required")
		}
		if e.Port < 0 || e.Port > 65535 {
			f.add(field+".redis.port", "%d is not a TCP port", e.Port)
		}
		secret("redis.passwordSecretRef", e.PasswordSecretRef)
	}
	if e := t.Filesystem; e != nil {
		blocks = append(blocks, "filesystem")
		if e.Path == "" || !path.IsAbs(e.Path) {
			f.add(field+".filesystem.path", "an absolute path is required, got %q", e.Path)
		}
		for i, pat := range e.Excludes {
			if _, err := path.Match(pat, ""); err != nil {
				f.add(fmt.Sprintf("%s.filesystem.excludes[%d]", field, i), "bad pattern %q: %v", pat, err)
			}
		}
	}
	if e := t.Git; e != nil {
		blocks = append(blocks, "git")
		if e.URL == "" {
			f.add(field+".git.url", "required")
		}
		secret("git.tokenSecretRef", e.TokenSecretRef)
		secret("git.sshKeySecretRef", e.SSHKeySecretRef)
		secret("git.knownHostsSecretRef", e.KnownHostsSecretRef)
		if e.SSHKeySecretRef != nil && e.KnownHostsSecretRef == nil {
			f.add(field+".git.knownHostsSecretRef", "required with sshKeySecretRef: host keys must be pinned")
		}
	}
	return blocks
}
