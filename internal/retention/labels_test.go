package retention

import (
	"reflect"
	"testing"
	"time"
)

func TestLabelsCalendar(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		t.Helper()
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	tests := map[string]struct {
		backups []Backup
		loc     *time.Location
		want    map[string][]string
	}{
		"weekly uses ISO weeks": {
			// 2026-01-01 is a Thursday in ISO week 2026-W01, which began on
			// Monday 2025-12-29: a new month and year, not a new week.
			backups: []Backup{
				completed("sun", utc("2025-12-28T10:00:00Z")),
				completed("mon", utc("2025-12-29T10:00:00Z")),
				completed("thu", utc("2026-01-01T10:00:00Z")),
			},
			want: map[string][]string{
				"sun": {"hourly", "daily", "weekly", "monthly", "yearly"},
				"mon": {"hourly", "daily", "weekly"},
				"thu": {"hourly", "daily", "monthly", "yearly"},
			},
		},
		"ISO week 53 spans the new year": {
			// 2026-12-28 (Mon) to 2027-01-03 (Sun) is 2026-W53.
			backups: []Backup{
				completed("w53", utc("2026-12-28T10:00:00Z")),
				completed("jan1", utc("2027-01-01T10:00:00Z")),
				completed("w01", utc("2027-01-04T10:00:00Z")),
			},
			want: map[string][]string{
				"w53":  {"hourly", "daily", "weekly", "monthly", "yearly"},
				"jan1": {"hourly", "daily", "monthly", "yearly"},
				"w01":  {"hourly", "daily", "weekly"},
			},
		},
		"23:30 UTC is the next day in Berlin": {
			backups: []Backup{
				completed("noon", utc("2026-01-01T12:00:00Z")),
				completed("late", utc("2026-01-01T23:30:00Z")), // 00:30 CET on the 2nd
				completed("morning", utc("2026-01-02T08:00:00Z")),
			},
			loc: berlin(t),
			want: map[string][]string{
				"noon":    {"hourly", "daily", "weekly", "monthly", "yearly"},
				"late":    {"hourly", "daily"},
				"morning": {"hourly"},
			},
		},
		"23:30 UTC is the same day in UTC": {
			backups: []Backup{
				completed("noon", utc("2026-01-01T12:00:00Z")),
				completed("late", utc("2026-01-01T23:30:00Z")),
				completed("morning", utc("2026-01-02T08:00:00Z")),
			},
			want: map[string][]string{
				"noon":    {"hourly", "daily", "weekly", "monthly", "yearly"},
				"late":    {"hourly"},
				"morning": {"hourly", "daily"},
			},
		},
		"new year in Berlin starts at 23:00 UTC": {
			backups: []Backup{
				completed("old", utc("2026-12-31T22:30:00Z")),
				completed("new", utc("2026-12-31T23:10:00Z")), // 00:10 CET, 2027
			},
			loc: berlin(t),
			want: map[string][]string{
				"old": {"hourly", "daily", "weekly", "monthly", "yearly"},
				"new": {"hourly", "daily", "monthly", "yearly"},
			},
		},
		"clocks falling back give the repeated hour two buckets": {
			// 2026-10-25 03:00 CEST becomes 02:00 CET at 01:00 UTC.
			backups: []Backup{
				completed("cest-0210", utc("2026-10-25T00:10:00Z")),
				completed("cest-0240", utc("2026-10-25T00:40:00Z")),
				completed("cet-0210", utc("2026-10-25T01:10:00Z")),
				completed("cet-0240", utc("2026-10-25T01:40:00Z")),
			},
			loc: berlin(t),
			want: map[string][]string{
				"cest-0210": {"hourly", "daily", "weekly", "monthly", "yearly"},
				"cet-0210":  {"hourly"},
			},
		},
		"clocks springing forward skip an hour": {
			// 2026-03-29 02:00 CET becomes 03:00 CEST at 01:00 UTC.
			backups: []Backup{
				completed("0130", utc("2026-03-29T00:30:00Z")),
				completed("0330", utc("2026-03-29T01:30:00Z")),
				completed("0350", utc("2026-03-29T01:50:00Z")),
			},
			loc: berlin(t),
			want: map[string][]string{
				"0130": {"hourly", "daily", "weekly", "monthly", "yearly"},
				"0330": {"hourly"},
			},
		},
		"a wall clock stepping back over midnight": {
			// Goose Bay ended summer time at 00:01 ADT, back to 23:01 AST of
			// the previous day: Sunday came, went, and came again.
			backups: []Backup{
				completed("sat", utc("2010-11-06T16:00:00Z")),       // Sat 13:00 ADT
				completed("sun", utc("2010-11-07T03:00:30Z")),       // Sun 00:00:30 ADT
				completed("sat-again", utc("2010-11-07T03:30:00Z")), // Sat 23:30 AST
				completed("sun-again", utc("2010-11-07T04:30:00Z")), // Sun 00:30 AST
			},
			loc: location(t, "America/Goose_Bay"),
			want: map[string][]string{
				"sat":       {"hourly", "daily", "weekly", "monthly", "yearly"},
				"sun":       {"hourly", "daily"},
				"sun-again": {"hourly"},
			},
		},
		"half-hour zones cut hours at half past UTC": {
			backups: []Backup{
				completed("a", utc("2026-01-05T10:20:00Z")), // 15:50 IST
				completed("b", utc("2026-01-05T10:40:00Z")), // 16:10 IST
				completed("c", utc("2026-01-05T11:20:00Z")), // 16:50 IST
			},
			loc: time.FixedZone("IST", 5*3600+1800),
			want: map[string][]string{
				"a": {"hourly", "daily", "weekly", "monthly", "yearly"},
				"b": {"hourly"},
			},
		},
		"only completed backups earn": {
			backups: []Backup{
				failed("f", utc("2026-01-05T00:05:00Z")),
				running("r", utc("2026-01-05T00:10:00Z")),
				completed("c", utc("2026-01-05T00:20:00Z")),
			},
			want: map[string][]string{"c": {"hourly", "daily", "weekly", "monthly", "yearly"}},
		},
		"manual backups earn no time labels": {
			backups: []Backup{
				manual("m", utc("2026-01-05T00:00:00Z")),
				completed("c", utc("2026-01-05T00:20:00Z")),
			},
			want: map[string][]string{"c": {"hourly", "daily", "weekly", "monthly", "yearly"}},
		},
		"ties on start go to the smaller ID": {
			backups: []Backup{
				completed("b", utc("2026-01-05T00:00:00Z")),
				completed("a", utc("2026-01-05T00:00:00Z")),
			},
			want: map[string][]string{"a": {"hourly", "daily", "weekly", "monthly", "yearly"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Labels(tc.backups, tc.loc); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("labels = %v\nwant     %v", got, tc.want)
			}
		})
	}
}
