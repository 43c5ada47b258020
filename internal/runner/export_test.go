package runner

import "github.com/coffer-dev/coffer/internal/storage"

// WrapStore puts wrap around the runner's storage, so a test can count what
// a job reads.
func WrapStore(r *Runner, wrap func(storage.Store) storage.Store) {
	r.store = wrap(r.store)
	r.catalog.Store = r.store
}

// StagingName is stagingName, for its unit test.
var StagingName = stagingName
