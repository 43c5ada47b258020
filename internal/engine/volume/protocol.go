// Package volume is the engine of filesystem targets that name a
// PersistentVolumeClaim. The runner cannot mount a claim of another
// namespace, so the data travels through a push session on the runner's
// HTTP endpoint: for a backup, a reader pod in the claim's namespace mounts
// it read-only and PUTs the tar of it (the filesystem engine's format); for
// a restore, a writer pod GETs the verified tar, extracts it into the claim
// and PUTs its outcome. This package holds both sides and the protocol
// between them: the runner's Service and Engine, the pod's Push and Pull,
// and the names the controller mounts them by.
package volume

import "time"

const (
	// FileTar is the one file of a session: the tar a reader pod PUTs, or
	// the one a writer pod GETs.
	FileTar = "volume.tar"
	// FileResult is where a writer pod PUTs its outcome: ResultOK, or the
	// error it met.
	FileResult = "volume.result"
	// ResultOK is a writer pod's report of success.
	ResultOK = "ok"
	// URLMountDir is where a reader or writer pod mounts the Secret that
	// holds its session URL (the URL holds the session token, so it never
	// travels in arguments or environment), and URLKey its key.
	URLMountDir = "/var/run/coffer-push"
	URLKey      = "url"
	// DefaultWait bounds how long a backup or restore waits for its pod:
	// scheduling, image pull and the controller's polling all fit in it.
	DefaultWait = 15 * time.Minute
)

// URLFile is the path of the session URL inside a reader or writer pod.
func URLFile() string { return URLMountDir + "/" + URLKey }
