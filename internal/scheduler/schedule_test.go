package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/scheduler"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%s): %v", name, err)
	}
	return loc
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

func TestNext(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		spec, zone, after string
		want              []string // consecutive slots, UTC
	}{
		"hourly": {
			spec: "0 * * * *", zone: "UTC", after: "2026-11-21T10:15:00Z",
			want: []string{"2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z", "2026-11-21T13:00:00Z"},
		},
		"strictly after a slot": {
			spec: "0 * * * *", zone: "UTC", after: "2026-11-21T11:00:00Z",
			want: []string{"2026-11-21T12:00:00Z"},
		},
		"New York 02:00 in winter is 07:00 UTC": {
			spec: "0 2 * * *", zone: "America/New_York", after: "2026-01-10T00:00:00Z",
			want: []string{"2026-01-10T07:00:00Z", "2026-01-11T07:00:00Z"},
		},
		"New York 02:00 in summer is 06:00 UTC": {
			spec: "0 2 * * *", zone: "America/New_York", after: "2026-07-10T00:00:00Z",
			want: []string{"2026-07-10T06:00:00Z", "2026-07-11T06:00:00Z"},
		},
		"Berlin 02:30 daily, spring forward: once, at 03:30 CEST": {
			spec: "30 2 * * *", zone: "Europe/Berlin", after: "2026-03-27T12:00:00Z",
			want: []string{"2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"},
		},
		"Berlin 02:30 daily, fall back: once, at 02:30 CEST": {
			spec: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z",
			want: []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		},
		"Berlin 02:30 daily, from inside the repeated hour": {
			spec: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-25T01:10:00Z", // 02:10 CET
			want: []string{"2026-10-26T01:30:00Z"},
		},
		"Berlin fixed hour with minutes, fall back: the first pass only": {
			spec: "*/30 2 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z",
			want: []string{"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:00:00Z"},
		},
		"Berlin hourly, fall back: real hours, 02:00 twice": {
			spec: "0 * * * *", zone: "Europe/Berlin", after: "2026-10-24T23:30:00Z",
			want: []string{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"},
		},
		"Berlin hourly, spring forward: the missing hour has no slot": {
			spec: "0 * * * *", zone: "Europe/Berlin", after: "2026-03-28T23:30:00Z",
			want: []string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
		},
		"Lord Howe half-hour shift: 02:15 is skipped and runs at 02:45": {
			spec: "15 2 * * *", zone: "Australia/Lord_Howe", after: "2026-10-02T12:00:00Z",
			want: []string{"2026-10-02T15:45:00Z", "2026-10-03T15:45:00Z", "2026-10-04T15:15:00Z"},
		},
		"descriptor in a zone": {
			spec: "@daily", zone: "Europe/Berlin", after: "2026-06-01T00:00:00Z",
			want: []string{"2026-06-01T22:00:00Z", "2026-06-02T22:00:00Z"},
		},
		"fixed interval": {
			spec: "@every 90m", zone: "Europe/Berlin", after: "2026-06-01T10:00:00Z",
			want: []string{"2026-06-01T11:30:00Z", "2026-06-01T13:00:00Z"},
		},
		"weekday": {
			spec: "0 3 * * mon", zone: "Asia/Tokyo", after: "2026-11-21T00:00:00Z", // a Saturday
			want: []string{"2026-11-22T18:00:00Z", "2026-11-29T18:00:00Z"},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			loc := mustLoad(t, c.zone)
			after := mustTime(t, c.after)
			s, err := scheduler.New(c.spec, loc, scheduler.NewFakeClock(after))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			for i, w := range c.want {
				next := s.Next(after)
				if next.Location() != loc {
					t.Fatalf("Next returned a time in %v, want %v", next.Location(), loc)
				}
				if want := mustTime(t, w); !next.Equal(want) {
					t.Fatalf("slot %d after %v: got %v (%v), want %v", i, after.UTC(), next.UTC(), next, want)
				}
				after = next
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		spec string
		want string
	}{
		"bad syntax":         {spec: "every hour", want: `schedule "every hour"`},
		"six fields":         {spec: "0 0 * * * *", want: `schedule "0 0 * * * *"`},
		"time zone in spec":  {spec: "CRON_TZ=Europe/Berlin 0 2 * * *", want: "timeZone"},
		"never fires":        {spec: "0 0 30 2 *", want: "never fires"},
		"empty":              {spec: "", want: `schedule ""`},
		"out of range value": {spec: "61 * * * *", want: `schedule "61 * * * *"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := scheduler.New(c.spec, time.UTC, scheduler.NewFakeClock(now))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New(%q) = %v, want an error containing %q", c.spec, err, c.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	s, err := scheduler.New("@hourly", nil, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.Location() != time.UTC || s.Spec() != "@hourly" {
		t.Fatalf("defaults: location %v, spec %q", s.Location(), s.Spec())
	}
	if next := s.Next(time.Now()); time.Until(next) > time.Hour {
		t.Fatalf("next %v is more than an hour away", next)
	}
}
