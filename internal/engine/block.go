package engine

import "github.com/coffer-dev/coffer/api/v1alpha1"

// Problems collects what is wrong with one target block. Fields are
// relative to the block ("host", "passwordSecretRef"); the caller prefixes
// them with where the block is (spec.targets[0].postgres).
type Problems interface {
	Add(field, format string, args ...any)
}

// SecretRef is one Secret reference of a target block: the field it is in
// (relative to the block) and the reference itself, a pointer into the
// target so the controller can rename the Secret it points at.
type SecretRef struct {
	Field string
	Ref   *v1alpha1.SecretKeySelector
}

// SetRefs keeps the references that are set.
func SetRefs(refs ...SecretRef) []SecretRef {
	out := refs[:0]
	for _, r := range refs {
		if r.Ref != nil {
			out = append(out, r)
		}
	}
	return out
}

// ValidateConn checks the connection fields database engines share.
func ValidateConn(p Problems, host string, port int, database, user string) {
	if host == "" {
		p.Add("host", "required")
	}
	if port < 0 || port > 65535 {
		p.Add("port", "%d is not a TCP port", port)
	}
	if database == "" {
		p.Add("database", "required")
	}
	if user == "" {
		p.Add("user", "required")
	}
}
