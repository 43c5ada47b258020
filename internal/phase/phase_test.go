package phase

import "testing"

func TestPredicates(t *testing.T) {
	tests := map[Phase]struct{ final, inFlight, known bool }{
		Pending:         {inFlight: true, known: true},
		Running:         {inFlight: true, known: true},
		Completed:       {final: true, known: true},
		Failed:          {final: true, known: true},
		PartiallyFailed: {final: true, known: true},
		"":              {},
		"Done":          {},
	}
	for p, want := range tests {
		if p.Final() != want.final || p.InFlight() != want.inFlight || p.Known() != want.known {
			t.Errorf("%q: final %v inFlight %v known %v, want %+v", p, p.Final(), p.InFlight(), p.Known(), want)
		}
	}
	if len(All) != 5 || len(Backups) != 4 {
		t.Errorf("All = %v, Backups = %v", All, Backups)
	}
	for _, p := range Backups {
		if p == PartiallyFailed || !p.Known() {
			t.Errorf("%q in Backups", p)
		}
	}
	for _, p := range All {
		if !p.Known() {
			t.Errorf("%q in All is not known", p)
		}
	}
}
