// Package phase is the one spelling of where a backup or restore is in its
// life. The runner's manifests and records, retention, the runner API and
// the Backup and Restore objects all show these values; each of them uses
// this type (or, for the Kubernetes API, converts through one mapping in
// api/v1alpha1), so a phase is never spelled twice.
package phase

// Phase is where a backup or restore is in its life.
type Phase string

// Phases. Pending and Running are in flight; Completed, PartiallyFailed
// and Failed are final. PartiallyFailed is a restore that went on past
// items it could not restore (a kubernetes target's objects): the others
// were restored, the failed ones are listed.
const (
	Pending         Phase = "Pending"
	Running         Phase = "Running"
	Completed       Phase = "Completed"
	PartiallyFailed Phase = "PartiallyFailed"
	Failed          Phase = "Failed"
)

// All lists every phase in the order of a life: the order of the Restore
// CRD's and the OpenAPI document's enums.
var All = []Phase{Pending, Running, Completed, PartiallyFailed, Failed}

// Backups lists the phases a backup can have, the Backup CRD's enum: a
// backup set is Completed only if every target is, so it never ends
// PartiallyFailed.
var Backups = []Phase{Pending, Running, Completed, Failed}

// Final: the work has ended and its phase will not change again.
func (p Phase) Final() bool { return p == Completed || p == PartiallyFailed || p == Failed }

// InFlight: the work has not ended yet.
func (p Phase) InFlight() bool { return p == Pending || p == Running }

// Known: p is one of All. Readers of stored records keep what they cannot
// read rather than guess.
func (p Phase) Known() bool { return p.Final() || p.InFlight() }
