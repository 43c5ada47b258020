package filesystem

import (
	"fmt"
	"path"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// SecretRefs: a filesystem block references no Secret.
func SecretRefs(*v1alpha1.Target) []engine.SecretRef { return nil }

// Validate reports what is wrong with the target's filesystem block.
func Validate(t *v1alpha1.Target, p engine.Problems) {
	s := t.Filesystem
	if s.Path == "" || !path.IsAbs(s.Path) {
		p.Add("path", "an absolute path is required, got %q", s.Path)
	}
	for i, pat := range s.Excludes {
		if _, err := path.Match(pat, ""); err != nil {
			p.Add(fmt.Sprintf("excludes[%d]", i), "bad pattern %q: %v", pat, err)
		}
	}
}
