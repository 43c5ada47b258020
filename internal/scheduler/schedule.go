// Package scheduler runs a definition's backups on its cron schedule, in its
// time zone, with an injected clock so tests control time.
//
// Schedules are read by one cron dialect (five fields or a descriptor such
// as @daily); this package is the one owner of what a schedule means, for
// the runner that fires it and the controller that shows the next run. Daylight saving time is handled the way people expect of a
// wall clock:
//
//   - A schedule that fires every hour (hour field "*") follows real hours:
//     when clocks fall back, 02:00 CEST and 02:00 CET both fire; when they
//     spring forward, the missing hour simply has no slot.
//   - Any other schedule names wall-clock times, each firing once a day: a
//     time that occurs twice (clocks falling back) fires at its first
//     occurrence only, and a time that does not exist (clocks springing
//     forward) fires as far after the jump as it was after the jump's
//     start (02:30 in Europe/Berlin fires at 03:30 CEST), so it is never lost.
//
// Run adds the runner's rules: one catch-up run after downtime, never a
// burst, and jobs never overlap.
package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser is the one cron dialect Coffer accepts: five fields or a
// descriptor such as @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate reports whether spec is a cron expression Coffer accepts.
func Validate(spec string) error {
	_, err := cronParser.Parse(spec)
	return err
}

// NextRun is the first run of spec, read in the time zone tz ("" is UTC),
// strictly after now: what a runner started with this schedule fires next.
func NextRun(spec, tz string, now time.Time) (time.Time, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return time.Time{}, fmt.Errorf("time zone %q: %w", tz, err)
		}
		loc = l
	}
	s, err := New(spec, loc, NewFakeClock(now))
	if err != nil {
		return time.Time{}, err
	}
	return s.Next(now), nil
}

// allHours has a bit for each hour of the day, as cron.SpecSchedule.Hour.
const allHours = 1<<24 - 1

// maxWallSteps bounds the candidates Next tries before giving up; only a
// repeated hour (clocks falling back) makes it try more than one.
const maxWallSteps = 10000

// Scheduler computes a schedule's slots and runs a job at them. Set the
// hooks before calling Run.
type Scheduler struct {
	// OnNext, if set, is told each next planned run (e.g. for a metric).
	OnNext func(t time.Time)
	// OnSkip, if set, is told each slot skipped because the previous job
	// was still running.
	OnSkip func(slot time.Time)
	// OnDone, if set, is told after each job has returned and the
	// scheduler is ready to start the next: tests wait on it before they
	// move a fake clock on.
	OnDone func(slot time.Time)

	spec  string
	loc   *time.Location
	clock Clock
	// Exactly one of realTime and wall is set. realTime is evaluated on the real
	// timeline, in loc: every-hour schedules and @every intervals. wall is
	// the same cron fields read in UTC, where a floating wall-clock reading
	// of loc has neither gaps nor repeats (see Next).
	realTime cron.Schedule
	wall     *cron.SpecSchedule

	running runningFlag
}

// New parses spec for the time zone loc (nil means UTC) and clock (nil
// means RealClock). Errors name the spec.
func New(spec string, loc *time.Location, clock Clock) (*Scheduler, error) {
	if loc == nil {
		loc = time.UTC
	}
	if clock == nil {
		clock = RealClock{}
	}
	if s := strings.TrimSpace(spec); strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, fmt.Errorf("schedule %q: a TZ= or CRON_TZ= prefix is not supported; set the definition's timeZone", spec)
	}
	parsed, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	s := &Scheduler{spec: spec, loc: loc, clock: clock}
	if p, ok := parsed.(*cron.SpecSchedule); ok {
		c := *p
		if c.Hour&allHours == allHours {
			c.Location = loc
			s.realTime = &c
		} else {
			c.Location = time.UTC
			s.wall = &c
		}
	} else {
		s.realTime = parsed // @every: a fixed interval, no wall clock involved
	}
	if s.Next(clock.Now()).IsZero() {
		return nil, fmt.Errorf("schedule %q: %w", spec, errNever)
	}
	return s, nil
}

var errNever = errors.New("never fires (no matching time within five years)")

// Spec is the cron expression the scheduler was made from.
func (s *Scheduler) Spec() string { return s.spec }

// Location is the time zone the schedule is read in.
func (s *Scheduler) Location() *time.Location { return s.loc }

// Next returns the first slot strictly after after, in the scheduler's time
// zone, or the zero time if there is none within five years.
func (s *Scheduler) Next(after time.Time) time.Time {
	if s.realTime != nil {
		t := s.realTime.Next(after)
		if t.IsZero() {
			return t
		}
		return t.In(s.loc)
	}
	w := floating(after.In(s.loc))
	for range maxWallSteps {
		c := s.wall.Next(w)
		if c.IsZero() {
			return c
		}
		if t := s.instant(c); t.After(after) {
			return t.In(s.loc)
		}
		w = c // the first occurrence of a repeated time has passed
	}
	return time.Time{}
}

// floating is the wall-clock reading of t as the same reading in UTC.
func floating(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// instant is the first moment the wall clock of loc reads c (a floating
// time). A reading that does not exist because the clocks jumped forward is
// read with the offset from before the jump: 02:30 CET, which is 03:30 CEST.
func (s *Scheduler) instant(c time.Time) time.Time {
	u := c.Unix()
	// Offsets in effect two days either side of c, and at c itself, cover
	// every transition near it.
	before := offset(s.loc, u-2*86400)
	offsets := []int64{before, offset(s.loc, u), offset(s.loc, u+2*86400)}
	var first time.Time
	for _, off := range offsets {
		t := time.Unix(u-off, int64(c.Nanosecond()))
		if floating(t.In(s.loc)).Equal(c) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if first.IsZero() {
		return time.Unix(u-before, int64(c.Nanosecond()))
	}
	return first
}

// offset is loc's UTC offset in seconds at the Unix time u.
func offset(loc *time.Location, u int64) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}
