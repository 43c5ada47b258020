package scheduler

import "time"

// Clock is the time source of a Scheduler, injected so that tests control
// time (FakeClock) while production uses RealClock.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that delivers once on C after d; d <= 0
	// delivers at once.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did so
	// (false if the timer had already fired or been stopped).
	Stop() bool
}

// RealClock is the system clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer is time.NewTimer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
