package mysql

import (
	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// SecretRefs are the Secret references of the target's mysql block.
func SecretRefs(t *v1alpha1.Target) []engine.SecretRef {
	return engine.SetRefs(engine.SecretRef{Field: "passwordSecretRef", Ref: t.MySQL.PasswordSecretRef})
}

// Validate reports what is wrong with the target's mysql block.
func Validate(t *v1alpha1.Target, p engine.Problems) {
	s := t.MySQL
	engine.ValidateConn(p, s.Host, s.Port, s.Database, s.User)
}
