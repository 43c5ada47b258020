package scheduler

import (
	"context"
	"sync"
	"time"
)

// maxSleep bounds one timer wait. Timers run on the monotonic clock, which
// stands still while a laptop sleeps and ignores wall-clock steps; waking
// up every so often to re-read the clock keeps slots on the wall clock.
const maxSleep = time.Minute

// Run calls job at each slot until ctx is done, then waits for a running job
// to return. The job gets ctx and the slot it runs for.
//
// last is the start of the newest existing backup. If a slot passed between
// last and now while nothing ran, Run first runs exactly one catch-up job,
// at once, for the latest missed slot: downtime costs one backup, not a
// burst. A zero last (no backup yet) means no catch-up: the first backup is
// taken at the first slot, since the schedule was chosen for a reason
// (e.g. a quiet hour); take an on-demand backup to have one sooner.
//
// Jobs never overlap: a slot that comes while a job runs is skipped and
// reported to OnSkip. Slots passed by a jump of the clock (a suspended
// machine) are not run one by one either: one job runs, for the slot that
// was due.
func (s *Scheduler) Run(ctx context.Context, last time.Time, job func(ctx context.Context, scheduled time.Time)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(slot time.Time) {
		if !s.running.start() {
			if s.OnSkip != nil {
				s.OnSkip(slot)
			}
			return
		}
		wg.Go(func() {
			job(ctx, slot)
			s.running.stop()
			if s.OnDone != nil {
				s.OnDone(slot)
			}
		})
	}

	now := s.clock.Now()
	if slot, ok := s.missed(last, now); ok && ctx.Err() == nil {
		start(slot)
	}
	after := now
	for {
		next := s.Next(after)
		if next.IsZero() {
			<-ctx.Done()
			return
		}
		if s.OnNext != nil {
			s.OnNext(next)
		}
		if !s.sleepUntil(ctx, next) {
			return
		}
		start(next)
		after = next
		if now := s.clock.Now(); now.After(after) {
			after = now
		}
	}
}

// Running reports whether a job started by Run is running.
func (s *Scheduler) Running() bool { return s.running.get() }

// sleepUntil waits until the clock reaches t; false means ctx ended first.
func (s *Scheduler) sleepUntil(ctx context.Context, t time.Time) bool {
	for {
		d := t.Sub(s.clock.Now())
		if d <= 0 {
			return ctx.Err() == nil
		}
		timer := s.clock.NewTimer(min(d, maxSleep))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C():
		}
	}
}

// missed returns the latest slot in (last, now], if last is set and there
// is one.
func (s *Scheduler) missed(last, now time.Time) (time.Time, bool) {
	if last.IsZero() {
		return time.Time{}, false
	}
	slot := s.Next(last)
	if slot.IsZero() || slot.After(now) {
		return time.Time{}, false
	}
	// Step back from now in doubling windows until one holds a slot, so a
	// long outage of a frequent schedule is not walked slot by slot.
	for back := time.Minute; now.Add(-back).After(slot); back *= 2 {
		if n := s.Next(now.Add(-back)); !n.IsZero() && !n.After(now) {
			slot = n
			break
		}
	}
	for {
		n := s.Next(slot)
		if n.IsZero() || n.After(now) {
			return slot, true
		}
		slot = n
	}
}

// runningFlag says whether a job runs; start claims it.
type runningFlag struct {
	mu      sync.Mutex
	running bool
}

func (f *runningFlag) start() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running {
		return false
	}
	f.running = true
	return true
}

func (f *runningFlag) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = false
}

func (f *runningFlag) get() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running
}
