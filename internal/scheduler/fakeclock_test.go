package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/scheduler"
)

func TestFakeClockFiresDueTimersInOrder(t *testing.T) {
	t.Parallel()
	c := scheduler.NewFakeClock(t0)
	late := c.NewTimer(2 * time.Minute)
	early := c.NewTimer(time.Minute)
	stopped := c.NewTimer(time.Minute)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending timer: want true once, then false")
	}
	if n := c.Timers(); n != 2 {
		t.Fatalf("Timers() = %d, want 2", n)
	}
	c.Advance(30 * time.Second)
	for name, tm := range map[string]scheduler.Timer{"early": early, "late": late} {
		select {
		case v := <-tm.C():
			t.Fatalf("%s fired at %v, before its deadline", name, v)
		default:
		}
	}
	c.AdvanceTo(t0.Add(5 * time.Minute))
	if got := <-early.C(); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("early fired with %v, want its deadline", got)
	}
	if got := <-late.C(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("late fired with %v, want its deadline", got)
	}
	if early.Stop() {
		t.Fatal("Stop of a fired timer returned true")
	}
	select {
	case v := <-stopped.C():
		t.Fatalf("a stopped timer fired at %v", v)
	default:
	}
	c.AdvanceTo(t0) // never backwards
	if !c.Now().Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("AdvanceTo moved the clock back to %v", c.Now())
	}
}

func TestFakeClockZeroTimerFiresAtOnce(t *testing.T) {
	t.Parallel()
	c := scheduler.NewFakeClock(t0)
	select {
	case v := <-c.NewTimer(0).C():
		if !v.Equal(t0) {
			t.Fatalf("fired with %v, want %v", v, t0)
		}
	default:
		t.Fatal("a zero timer did not fire at once")
	}
	if n := c.Timers(); n != 0 {
		t.Fatalf("Timers() = %d, want 0", n)
	}
}

func TestFakeClockWaitForTimers(t *testing.T) {
	t.Parallel()
	c := scheduler.NewFakeClock(t0)
	go func() { c.NewTimer(time.Second) }()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("WaitForTimers: %v", err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancelShort()
	if err := c.WaitForTimers(short, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForTimers for a timer that never comes = %v, want DeadlineExceeded", err)
	}
}

func TestRealClock(t *testing.T) {
	t.Parallel()
	var c scheduler.Clock = scheduler.RealClock{}
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("RealClock.Now is %v off", d)
	}
	tm := c.NewTimer(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(wait):
		t.Fatal("real timer did not fire")
	}
	if tm.Stop() {
		t.Fatal("Stop of a fired real timer returned true")
	}
}
