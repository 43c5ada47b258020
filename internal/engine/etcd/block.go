package etcd

import (
	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// SecretRefs are the Secret references of the target's etcd block.
func SecretRefs(t *v1alpha1.Target) []engine.SecretRef {
	s := t.Etcd
	return engine.SetRefs(
		engine.SecretRef{Field: "passwordSecretRef", Ref: s.PasswordSecretRef},
		engine.SecretRef{Field: "caSecretRef", Ref: s.CASecretRef},
		engine.SecretRef{Field: "certSecretRef", Ref: s.CertSecretRef},
		engine.SecretRef{Field: "keySecretRef", Ref: s.KeySecretRef})
}

// Validate reports what is wrong with the target's etcd block.
func Validate(t *v1alpha1.Target, p engine.Problems) {
	s := t.Etcd
	if len(s.Endpoints) == 0 {
		p.Add("endpoints", "at least one endpoint is required")
	}
	if (s.CertSecretRef == nil) != (s.KeySecretRef == nil) {
		p.Add("", "certSecretRef and keySecretRef go together")
	}
}
