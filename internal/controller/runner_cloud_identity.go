package controller

import (
	"maps"

	corev1 "k8s.io/api/core/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// Cloud identity without static keys (BackupStorage spec.workloadIdentity):
// each runner of a definition using the storage runs as a ServiceAccount
// of its own, runner-<ns>-<name> in the operator namespace, annotated as
// the cloud expects. EKS's pod identity webhook (IRSA) and Azure's
// workload identity webhook then project a token into the pod, and GKE's
// metadata server answers for the Google service account; none of them
// needs the Kubernetes API token, which stays unmounted for runners that
// do not read the API. The runners of the operator namespace's
// definitions with a kubernetes target run as the shared
// RunnerClusterServiceAccount, which the controller leaves alone: the
// cluster admin annotates it (docs/storage.md).
const (
	AnnotationAWSRoleARN        = "eks.amazonaws.com/role-arn"
	AnnotationGCPServiceAccount = "iam.gke.io/gcp-service-account"
	AnnotationAzureClientID     = "azure.workload.identity/client-id"
	// LabelAzureWorkloadIdentity on a pod asks Azure's webhook for a token.
	LabelAzureWorkloadIdentity = "azure.workload.identity/use"
)

// identityAnnotations are the runner ServiceAccount's annotations for the
// storage's workload identity; nil without one.
func identityAnnotations(st *v1alpha1.BackupStorage) map[string]string {
	wi := st.Spec.WorkloadIdentity
	if wi == nil {
		return nil
	}
	a := map[string]string{}
	for k, v := range map[string]string{AnnotationAWSRoleARN: wi.AWSRoleARN, AnnotationGCPServiceAccount: wi.GCPServiceAccount,
		AnnotationAzureClientID: wi.AzureClientID} {
		if v != "" {
			a[k] = v
		}
	}
	return a
}

// sharedIdentity: the runner runs as RunnerClusterServiceAccount.
func sharedIdentity(def *v1alpha1.BackupDefinition, operatorNamespace string) bool {
	return readsAPI(def) && def.Namespace == operatorNamespace
}

// ownServiceAccount: the runner runs as a ServiceAccount of its own, which
// the controller creates: to be bound read-only in a tenant's namespace,
// or to carry the storage's workload identity.
func ownServiceAccount(def *v1alpha1.BackupDefinition, st *v1alpha1.BackupStorage, operatorNamespace string) bool {
	if sharedIdentity(def, operatorNamespace) {
		return false
	}
	return readsAPI(def) || st.Spec.WorkloadIdentity != nil
}

// applyCloudIdentity points the runner pod at its annotated ServiceAccount
// and labels it for Azure's webhook. The pod's labels are copied first:
// the StatefulSet's selector, fixed at creation, must not follow them.
func applyCloudIdentity(tpl *corev1.PodTemplateSpec, def *v1alpha1.BackupDefinition, st *v1alpha1.BackupStorage, s Settings) {
	wi := st.Spec.WorkloadIdentity
	if wi == nil {
		return
	}
	if ownServiceAccount(def, st, s.OperatorNamespace) {
		tpl.Spec.ServiceAccountName = RunnerName(def.Namespace, def.Name)
	}
	if wi.AzureClientID != "" {
		tpl.Labels = maps.Clone(tpl.Labels)
		tpl.Labels[LabelAzureWorkloadIdentity] = "true"
	}
}
