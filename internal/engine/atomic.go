package engine

import "errors"

// ErrInputAfterRestore wraps a failure of a restore's input that came after
// the engine's tool had read all it needed and finished: an all-or-nothing
// restore had committed by then.
var ErrInputAfterRestore = errors.New("reading input after it finished")

// Atomic is implemented by the engines whose restore is all or nothing:
// when the stream they read breaks off or the tool is killed, the
// destination is left as it was (PostgreSQL restores in one transaction;
// MariaDB empties a database that was empty again, and touches one that
// holds objects only after a rehearsal in a scratch database succeeded). Where every byte of a backup is checked before it reaches
// the engine (format 2 checks each chunk before passing it on), the runner
// then checks the backup while restoring it into an existing destination,
// reading it once, instead of a separate verification pass first.
type Atomic interface {
	// RestoresAtomically reports whether a restore of t with opts is all
	// or nothing.
	RestoresAtomically(t Target, opts RestoreOptions) bool
}
