package scheduler_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/scheduler"
)

// wait bounds every blocking step of a test; nothing here should take
// more than milliseconds.
const wait = 10 * time.Second

var t0 = time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC)

// harness runs a Scheduler on a FakeClock and records what it does.
type harness struct {
	t      *testing.T
	clock  *scheduler.FakeClock
	s      *scheduler.Scheduler
	jobs   chan time.Time // slots of started jobs
	skips  chan time.Time
	nexts  chan time.Time
	done   chan struct{} // closed when Run returns
	cancel context.CancelFunc
}

// run starts Run for spec in zone at now. job may be nil: it then just
// records its slot.
func run(t *testing.T, spec, zone string, now, last time.Time, job func(ctx context.Context, slot time.Time)) *harness {
	t.Helper()
	h := &harness{t: t, clock: scheduler.NewFakeClock(now),
		jobs: make(chan time.Time, 100), skips: make(chan time.Time, 100), nexts: make(chan time.Time, 100),
		done: make(chan struct{})}
	s, err := scheduler.New(spec, mustLoad(t, zone), h.clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.OnNext = func(t time.Time) { h.nexts <- t }
	s.OnSkip = func(slot time.Time) { h.skips <- slot }
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		s.Run(ctx, last, func(ctx context.Context, slot time.Time) {
			h.jobs <- slot
			if job != nil {
				job(ctx, slot)
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// settle waits until no job runs and the loop waits for its next slot.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for h.s.Running() {
		if time.Now().After(deadline) {
			h.t.Fatal("a job is still running")
		}
		time.Sleep(100 * time.Microsecond)
	}
	h.waitTimer()
}

// waitTimer waits until the loop is blocked on a timer.
func (h *harness) waitTimer() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.clock.WaitForTimers(ctx, 1); err != nil {
		h.t.Fatalf("the scheduler never waited for a timer: %v", err)
	}
}

// recv takes the next value from ch and checks it.
func (h *harness) recv(ch chan time.Time, what string, want time.Time) {
	h.t.Helper()
	select {
	case got := <-ch:
		if !got.Equal(want) {
			h.t.Fatalf("%s: got %v, want %v", what, got.UTC(), want.UTC())
		}
	case <-time.After(wait):
		h.t.Fatalf("%s: nothing happened, want %v", what, want.UTC())
	}
}

// none checks that nothing more arrived on ch.
func (h *harness) none(ch chan time.Time, what string) {
	h.t.Helper()
	select {
	case got := <-ch:
		h.t.Fatalf("unexpected %s for %v", what, got.UTC())
	default:
	}
}

func at(hour int) time.Time { return time.Date(2026, 11, 21, hour, 0, 0, 0, time.UTC) }

func TestRunFiresEveryHour(t *testing.T) {
	t.Parallel()
	h := run(t, "0 * * * *", "UTC", t0, time.Time{}, nil)
	h.recv(h.nexts, "next run", at(11))
	// Short steps that do not reach the slot run nothing.
	for _, step := range []time.Time{t0.Add(15 * time.Minute), at(11).Add(-time.Second)} {
		h.waitTimer()
		h.clock.AdvanceTo(step)
		h.waitTimer()
		h.none(h.jobs, "job")
	}
	for hour := 11; hour <= 14; hour++ {
		h.settle()
		h.clock.AdvanceTo(at(hour))
		h.recv(h.jobs, "job", at(hour))
		h.recv(h.nexts, "next run", at(hour+1))
	}
	h.none(h.skips, "skip")
}

func TestRunCatchesUpOnceAfterDowntime(t *testing.T) {
	t.Parallel()
	// Down from 05:00 to 10:15: the 06:00 to 10:00 slots (five) were missed.
	h := run(t, "0 * * * *", "UTC", t0, at(5), nil)
	h.recv(h.jobs, "catch-up job", at(10))
	h.recv(h.nexts, "next run", at(11))
	h.settle()
	h.none(h.jobs, "second catch-up job")
	h.clock.AdvanceTo(at(11))
	h.recv(h.jobs, "job", at(11))
	h.none(h.skips, "skip")
}

func TestRunNoCatchUp(t *testing.T) {
	t.Parallel()
	cases := map[string]time.Time{
		"no backup yet":                  {},
		"newest backup after last slot":  at(10).Add(5 * time.Minute),
		"newest backup exactly the slot": at(10),
		"newest backup in the future":    at(12),
	}
	for name, last := range cases {
		t.Run(name, func(t *testing.T) {
			h := run(t, "0 * * * *", "UTC", t0, last, nil)
			h.recv(h.nexts, "next run", at(11))
			h.settle()
			h.none(h.jobs, "job")
		})
	}
}

func TestRunSkipsSlotsWhileAJobRuns(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var active, most atomic.Int32
	h := run(t, "0 * * * *", "UTC", t0, time.Time{}, func(ctx context.Context, slot time.Time) {
		n := active.Add(1)
		defer active.Add(-1)
		if n > most.Load() {
			most.Store(n)
		}
		if slot.Equal(at(11)) {
			<-release
		}
	})
	h.waitTimer()
	h.clock.AdvanceTo(at(11))
	h.recv(h.jobs, "job", at(11))
	for hour := 12; hour <= 13; hour++ {
		h.waitTimer()
		h.clock.AdvanceTo(at(hour))
		h.recv(h.skips, "skipped slot", at(hour))
		h.none(h.jobs, "overlapping job")
	}
	close(release)
	h.settle()
	h.clock.AdvanceTo(at(14))
	h.recv(h.jobs, "job after the long one", at(14))
	h.settle()
	if m := most.Load(); m != 1 {
		t.Fatalf("%d jobs ran at once", m)
	}
	h.none(h.skips, "skip")
}

func TestRunInTimeZone(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		spec, zone string
		start      time.Time
		want       []time.Time
	}{
		"New York 02:00 in winter is 07:00 UTC": {
			spec: "0 2 * * *", zone: "America/New_York", start: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC),
			want: []time.Time{time.Date(2026, 1, 10, 7, 0, 0, 0, time.UTC), time.Date(2026, 1, 11, 7, 0, 0, 0, time.UTC)},
		},
		"Berlin 02:30 over spring forward": {
			spec: "30 2 * * *", zone: "Europe/Berlin", start: time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC),
			want: []time.Time{time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC)},
		},
		"Berlin 02:30 over fall back": {
			spec: "30 2 * * *", zone: "Europe/Berlin", start: time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC),
			want: []time.Time{time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC)},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := run(t, c.spec, c.zone, c.start, time.Time{}, nil)
			for _, slot := range c.want {
				h.recv(h.nexts, "next run", slot)
				h.settle()
				h.clock.AdvanceTo(slot)
				h.recv(h.jobs, "job", slot)
			}
		})
	}
}

func TestRunClockJumpRunsOneJob(t *testing.T) {
	t.Parallel()
	h := run(t, "0 * * * *", "UTC", t0, time.Time{}, nil)
	h.recv(h.nexts, "next run", at(11))
	h.waitTimer()
	h.clock.Advance(5 * time.Hour) // a suspended laptop wakes at 15:15
	h.recv(h.jobs, "job", at(11))
	h.recv(h.nexts, "next run", at(16))
	h.settle()
	h.none(h.jobs, "burst job")
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	h := run(t, "0 * * * *", "UTC", t0, time.Time{}, nil)
	h.waitTimer()
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(wait):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if n := h.clock.Timers(); n != 0 {
		t.Fatalf("%d timers left behind", n)
	}
	h.none(h.jobs, "job")
}

func TestRunWaitsForTheRunningJob(t *testing.T) {
	t.Parallel()
	cancelled := make(chan struct{})
	release := make(chan struct{})
	h := run(t, "0 * * * *", "UTC", t0, at(5), func(ctx context.Context, _ time.Time) {
		<-ctx.Done()
		close(cancelled)
		<-release
	})
	h.recv(h.jobs, "catch-up job", at(10))
	h.cancel()
	select {
	case <-cancelled:
	case <-time.After(wait):
		t.Fatal("the job's context was not cancelled")
	}
	select {
	case <-h.done:
		t.Fatal("Run returned while its job was still running")
	default:
	}
	close(release)
	select {
	case <-h.done:
	case <-time.After(wait):
		t.Fatal("Run did not return after its job did")
	}
}
