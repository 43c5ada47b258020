package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchStatus is how every reconciler writes status: when obj differs from
// before (a copy taken as the reconcile began), as a merge patch of the
// difference through the status subresource, never an update of the whole
// object. A reconcile that changed nothing writes nothing. Changes outside
// status are not written here: the API server ignores them on /status.
func patchStatus(ctx context.Context, c client.Client, before, obj client.Object) error {
	if equality.Semantic.DeepEqual(before, obj) {
		return nil
	}
	return c.Status().Patch(ctx, obj, client.MergeFrom(before))
}
