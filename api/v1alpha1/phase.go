package v1alpha1

import "github.com/coffer-dev/coffer/internal/phase"

// The phases of Backups and Restores are the runner's (internal/phase),
// shown under the CRDs' own enum types. These functions are the one mapping
// between the two; phase_test.go checks it against the generated CRDs.

// BackupPhaseOf is the Backup phase that shows p.
func BackupPhaseOf(p phase.Phase) BackupPhase { return BackupPhase(p) }

// Phase is the runner's phase p shows.
func (p BackupPhase) Phase() phase.Phase { return phase.Phase(p) }

// Final: the backup has ended; its phase will not change again.
func (p BackupPhase) Final() bool { return p.Phase().Final() }

// RestorePhaseOf is the Restore phase that shows p.
func RestorePhaseOf(p phase.Phase) RestorePhase { return RestorePhase(p) }

// Phase is the runner's phase p shows.
func (p RestorePhase) Phase() phase.Phase { return phase.Phase(p) }

// Final: the restore has ended; its phase will not change again.
func (p RestorePhase) Final() bool { return p.Phase().Final() }
