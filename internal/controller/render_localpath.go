package controller

import (
	"fmt"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// localPathTargets refuses, for a definition outside the operator
// namespace, every target whose engine would read or write a path of the
// runner pod itself (a filesystem target without a PersistentVolumeClaim, a
// local git repository): the runner pod holds the storage keys, the age
// identity and the API token, and a tenant must never reach them. It
// returns the message for the definition's Ready condition, or "".
func (r *DefinitionReconciler) localPathTargets(def *v1alpha1.BackupDefinition) string {
	if def.Namespace == r.OperatorNamespace {
		return ""
	}
	var bad []string
	for i, t := range def.Spec.Targets {
		eng, err := all.For(t)
		if err != nil {
			continue // config validation reports it
		}
		if eng.Source(engine.Target{Spec: t, Namespace: def.Namespace}).Kind == manifest.SourcePath {
			bad = append(bad, fmt.Sprintf("spec.targets[%d] (%s)", i, t.Name))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: a local path runs inside the runner pod, which only definitions in the operator namespace %s may use; back up a PersistentVolumeClaim instead (filesystem.persistentVolumeClaim)",
		strings.Join(bad, ", "), r.OperatorNamespace)
}
