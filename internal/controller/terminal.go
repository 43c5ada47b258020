package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// Every on-demand Backup and every Restore ends Completed or Failed, with a
// reason, in bounded time. The rules that end them when the runner cannot
// say how they ended live here, shared by both reconcilers:
//
//   - the definition is gone (deleted, being deleted, or never created): no
//     runner will serve the work; Failed at once, saying where the data is;
//   - the runner answers but does not know the work (it restarted before
//     recording it): the Backup reconciler fails it at once;
//   - the runner does not answer: it may be draining (a stopping runner
//     finishes its work for up to spec.runner.drainTimeout, out of the
//     Service's reach) or restarting. After drainTimeout + runnerLostMargin
//     without an answer the work is Failed.

// runnerLostMargin is added to the definition's drain timeout: a runner
// out of reach longer than both is not coming back for this work.
const runnerLostMargin = 30 * time.Minute

// definitionArrivalGrace: an on-demand Backup may be applied a moment
// before its definition (kustomize orders Backup before BackupDefinition).
const definitionArrivalGrace = time.Minute

// definitionGoneHint ends every message about a missing definition: the
// data outlives it (docs/operator.md, "Deleting a definition").
const definitionGoneHint = "; its backups stay in storage: re-create the definition with the same name and storage, " +
	"or restore with coffer-runner (docs/operator.md, \"Deleting a definition\")"

// errDefinitionGone: the definition work refers to does not exist or is
// being deleted, so no runner will serve the work.
type errDefinitionGone struct {
	name     string
	deleting bool
}

func (e *errDefinitionGone) Error() string {
	if e.deleting {
		return fmt.Sprintf("BackupDefinition %q is being deleted: its runner is being removed", e.name)
	}
	return fmt.Sprintf("BackupDefinition %q does not exist (deleted?)", e.name)
}

// liveDefinition fetches the definition that work refers to. It fails with
// *errDefinitionGone when the definition does not exist or is being deleted,
// and with other errors when it cannot be read (retried).
func liveDefinition(ctx context.Context, c client.Reader, namespace, name string) (*v1alpha1.BackupDefinition, error) {
	def := &v1alpha1.BackupDefinition{}
	err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, def)
	switch {
	case apierrors.IsNotFound(err):
		return nil, &errDefinitionGone{name: name}
	case err != nil:
		return nil, err
	case !def.DeletionTimestamp.IsZero():
		return nil, &errDefinitionGone{name: name, deleting: true}
	}
	return def, nil
}

// runnerLostAfter is how long work waits for def's runner to answer.
func runnerLostAfter(def *v1alpha1.BackupDefinition) time.Duration {
	return def.Spec.Runner.EffectiveDrainTimeout() + runnerLostMargin
}

// noteRunner records on c whether the runner answered (callErr nil) and,
// when it did not, whether it has been out of reach for longer than limit
// since it last answered (or since the work was first tried).
func noteRunner(c conditions, callErr error, limit time.Duration) (lost bool) {
	if callErr == nil {
		c.set(ConditionRunnerReachable, metav1.ConditionTrue, ReasonAnswered, "the runner answered")
		return false
	}
	c.set(ConditionRunnerReachable, metav1.ConditionFalse, ReasonUnreachable, callErr.Error())
	return c.now.Sub(c.get(ConditionRunnerReachable).LastTransitionTime.Time) > limit
}

// lostMessage is the error of work whose runner stayed out of reach.
func lostMessage(what string, limit time.Duration, callErr error) string {
	return fmt.Sprintf("the runner has not answered for %v (spec.runner.drainTimeout + %v): %s; last error: %v",
		limit, runnerLostMargin, what, callErr)
}
