package git

import (
	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// SecretRefs are the Secret references of the target's git block.
func SecretRefs(t *v1alpha1.Target) []engine.SecretRef {
	s := t.Git
	return engine.SetRefs(
		engine.SecretRef{Field: "tokenSecretRef", Ref: s.TokenSecretRef},
		engine.SecretRef{Field: "sshKeySecretRef", Ref: s.SSHKeySecretRef},
		engine.SecretRef{Field: "knownHostsSecretRef", Ref: s.KnownHostsSecretRef})
}

// Validate reports what is wrong with the target's git block.
func Validate(t *v1alpha1.Target, p engine.Problems) {
	s := t.Git
	if s.URL == "" {
		p.Add("url", "required")
	}
	if s.SSHKeySecretRef != nil && s.KnownHostsSecretRef == nil {
		p.Add("knownHostsSecretRef", "required with sshKeySecretRef: host keys must be pinned")
	}
}
