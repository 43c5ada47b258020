package controller

import "time"

// Clock is the controller's one time source: condition transition times,
// deadlines for runners out of reach, the next backup shown. Setup injects
// it into every reconciler, so tests control time; scheduler.RealClock and
// *scheduler.FakeClock satisfy it, the clocks the runner uses.
type Clock interface {
	Now() time.Time
}
