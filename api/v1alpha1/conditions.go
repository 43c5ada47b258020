package v1alpha1

// Condition types and the reasons clients act on, shared by the controller
// (which sets them) and kubectl-coffer (which waits on them):
// `kubectl wait --for=condition=Ready backupdefinition/NAME` works with the
// same names.
const (
	// ConditionReady on a BackupDefinition: its runner is rendered, running
	// and ready.
	ConditionReady = "Ready"
	// ConditionRunnerReachable on a BackupDefinition, Backup or Restore:
	// the runner answered its last call.
	ConditionRunnerReachable = "RunnerReachable"
	// ConditionForwarded on a Backup or Restore: the runner took it.
	ConditionForwarded = "Forwarded"
	// ConditionPinForwarded on a Backup: the runner's backup has the pinned
	// label spec.pinned asks for, as of the condition's observedGeneration.
	ConditionPinForwarded = "PinForwarded"
	// ConditionFormatSelected on a BackupStorage: status.format holds the
	// format new backups are written in; the message says why.
	ConditionFormatSelected = "FormatSelected"
	// ConditionDedupKeyReady on a BackupStorage writing format 2: its dedup
	// key is in place (given by spec.chunked.keySecretRef or generated).
	ConditionDedupKeyReady = "DedupKeyReady"

	// ReasonNothingToPin on PinForwarded: the backup did not complete, so
	// there is nothing to pin.
	ReasonNothingToPin = "NothingToPin"
)

// LabelDefinition on a Backup names its definition, for listing:
// `kubectl get backups -l coffer.dev/definition=NAME`.
const LabelDefinition = "coffer.dev/definition"
