package phase

// TargetPhase is where one target of a backup or restore in flight is: the
// live progress the runner API and the Backup and Restore objects show.
// A target's final outcome is the backup's or restore's, so these phases
// only say what is moving now.
type TargetPhase string

// Target phases, in the order of a target's life.
const (
	TargetWaiting TargetPhase = "Waiting"
	TargetRunning TargetPhase = "Running"
	TargetDone    TargetPhase = "Done"
	TargetFailed  TargetPhase = "Failed"
)

// Targets lists every target phase: the CRDs' and the OpenAPI document's
// enum.
var Targets = []TargetPhase{TargetWaiting, TargetRunning, TargetDone, TargetFailed}
