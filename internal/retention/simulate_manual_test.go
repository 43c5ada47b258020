package retention

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// manualScenario: four days of hourly backups. On the first day at 10:20,
// twenty minutes after the hourly run, someone takes a backup before a
// migration; from the third day on, ten more manual backups follow, every
// two hours, so the first one becomes the eleventh.
func manualScenario(t *testing.T, hours int) scenario {
	p := standard
	p.Location = berlin(t)
	manual := map[int]time.Duration{10: 20 * time.Minute}
	for i := 60; i < 80; i += 2 {
		manual[i] = 5 * time.Minute
	}
	return scenario{seed: 9, start: time.Date(2026, 3, 2, 0, 0, 0, 0, p.Location), hours: hours, policy: p, failEvery: 25, manual: manual}
}

func TestSimulateManual(t *testing.T) {
	t.Parallel()
	// Survives 48 hours of hourly schedule and retention, though it earns
	// no time label: the 10:00 run is that hour's hourly.
	s := &simulation{sc: manualScenario(t, 10+48+1)}
	s.run(t)
	before := s.manualIDs[10]
	if _, ok := s.catalog[before]; !ok {
		t.Fatalf("the manual backup of 10:20 was deleted within 48 hours")
	}
	if d := decision(t, Plan(Listing{Backups: slices.Collect(maps.Values(s.catalog))}, s.sc.policy, s.now), before); !slices.Equal(d.Labels, []string{LabelManual}) {
		t.Errorf("the manual backup holds %v, want only [manual]", d.Labels)
	}

	// With ten newer manual backups it is the eleventh, and goes.
	s = &simulation{sc: manualScenario(t, 4*24)}
	s.run(t)
	if _, ok := s.catalog[before]; ok {
		t.Errorf("the 11th manual backup %s is kept; the policy keeps 10", before)
	}
	for i, id := range s.manualIDs {
		if _, ok := s.catalog[id]; i != 10 && !ok {
			t.Errorf("manual backup %s, one of the newest 10, was deleted", id)
		}
	}
	checkOracle(t, s)
	checkGolden(t, "manual", s.golden())

	// The scheduled series is exactly what it is without any manual backup.
	sc := manualScenario(t, 4*24)
	sc.manual = nil
	plain := &simulation{sc: sc}
	plain.run(t)
	var scheduled []string
	for id, b := range s.catalog {
		if !b.Manual {
			scheduled = append(scheduled, id)
		}
	}
	if want := slices.Sorted(maps.Keys(plain.catalog)); !slices.Equal(slices.Sorted(slices.Values(scheduled)), want) {
		t.Errorf("manual backups changed which scheduled backups survive\ngot  %v\nwant %v", slices.Sorted(slices.Values(scheduled)), want)
	}
}
