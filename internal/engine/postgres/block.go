package postgres

import (
	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// SecretRefs are the Secret references of the target's postgres block.
func SecretRefs(t *v1alpha1.Target) []engine.SecretRef {
	return engine.SetRefs(engine.SecretRef{Field: "passwordSecretRef", Ref: t.Postgres.PasswordSecretRef})
}

// Validate reports what is wrong with the target's postgres block.
func Validate(t *v1alpha1.Target, p engine.Problems) {
	s := t.Postgres
	engine.ValidateConn(p, s.Host, s.Port, s.Database, s.User)
}
