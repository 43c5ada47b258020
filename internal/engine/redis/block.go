package redis

import (
	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// SecretRefs are the Secret references of the target's redis block.
func SecretRefs(t *v1alpha1.Target) []engine.SecretRef {
	return engine.SetRefs(engine.SecretRef{Field: "passwordSecretRef", Ref: t.Redis.PasswordSecretRef})
}

// Validate reports what is wrong with the target's redis block.
func Validate(t *v1alpha1.Target, p engine.Problems) {
	s := t.Redis
	if s.Host == "" {
		p.Add("host", "required")
	}
	if s.Port < 0 || s.Port > 65535 {
		p.Add("port", "%d is not a TCP port", s.Port)
	}
}
