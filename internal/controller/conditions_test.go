package controller

import (
	"regexp"
	"testing"
)

// reasonPattern is metav1.Condition's reason syntax (its OpenAPI pattern).
var reasonPattern = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// TestConditionTable: every reason in the table is one the API server
// accepts, and a reason is spelled the same wherever it is used.
func TestConditionTable(t *testing.T) {
	for typ, reasons := range conditionReasons {
		if !reasonPattern.MatchString(typ) {
			t.Errorf("condition type %q", typ)
		}
		seen := map[string]bool{}
		for _, r := range reasons {
			if !reasonPattern.MatchString(r) || len(r) > 1024 {
				t.Errorf("%s: reason %q is not a valid reason", typ, r)
			}
			if seen[r] {
				t.Errorf("%s: reason %q listed twice", typ, r)
			}
			seen[r] = true
		}
	}
}
