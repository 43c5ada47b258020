package controller

import (
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// TestNextBackupTimeAcrossDST: the nextBackupTime the controller shows is
// the slot the runner fires, across both daylight saving changes in two
// time zones (docs: a wall-clock time that does not exist fires as far
// after the jump as it was after its start; one that occurs twice fires
// at its first occurrence).
func TestNextBackupTimeAcrossDST(t *testing.T) {
	cases := map[string]struct {
		schedule, tz string
		now, want    string
	}{
		"Berlin spring forward: 02:30 is 03:30 CEST": {"30 2 * * *", "Europe/Berlin", "2027-03-28T00:00:00Z", "2027-03-28T01:30:00Z"},
		"Berlin fall back: first 02:30 (CEST)":       {"30 2 * * *", "Europe/Berlin", "2027-10-30T23:00:00Z", "2027-10-31T00:30:00Z"},
		"Berlin the day after":                       {"30 2 * * *", "Europe/Berlin", "2027-03-28T02:00:00Z", "2027-03-29T00:30:00Z"},
		"New York spring forward: 02:30 is 03:30":    {"30 2 * * *", "America/New_York", "2027-03-14T05:00:00Z", "2027-03-14T07:30:00Z"},
		"New York fall back: first 01:30 (EDT)":      {"30 1 * * *", "America/New_York", "2027-11-07T04:00:00Z", "2027-11-07T05:30:00Z"},
		"UTC":                                        {"0 * * * *", "", "2027-01-01T10:20:00Z", "2027-01-01T11:00:00Z"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			now, _ := time.Parse(time.RFC3339, c.now)
			want, _ := time.Parse(time.RFC3339, c.want)
			r := &DefinitionReconciler{Clock: scheduler.NewFakeClock(now)}
			def := &v1alpha1.BackupDefinition{Spec: v1alpha1.BackupDefinitionSpec{Schedule: c.schedule, TimeZone: c.tz}}
			r.setNextBackup(def)
			if def.Status.NextBackupTime == nil || !def.Status.NextBackupTime.Time.Equal(want) {
				t.Fatalf("nextBackupTime = %v, want %v (the runner's slot)", def.Status.NextBackupTime, want)
			}
		})
	}
}
