package enginetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
)

func (f fixture) roundTripNew(t *testing.T)   { f.roundTrip(t, false) }
func (f fixture) roundTripEmpty(t *testing.T) { f.roundTrip(t, true) }

// roundTrip restores the dump into another destination, missing or empty.
func (f fixture) roundTrip(t *testing.T, create bool) {
	into := f.h.NewDestination(t, f.src, create)
	if err := restore(context.Background(), f.h, f.src, f.dump, into); err != nil {
		t.Fatalf("Restore into %s: %v", destName(into), err)
	}
	sameFingerprint(t, f.want, f.h.Fingerprint(t, f.src, into))
}

// notEmptyThenClean: a destination holding data is refused, left as it was,
// and overwritten only with Clean.
func (f fixture) notEmptyThenClean(t *testing.T) {
	victim := f.h.NewDestination(t, f.src, true)
	if err := restore(context.Background(), f.h, f.src, f.dump, victim); err != nil {
		t.Fatalf("Restore into %s: %v", destName(victim), err)
	}
	f.h.Mutate(t, f.src, victim)
	before := f.h.Fingerprint(t, f.src, victim)
	if before == f.want {
		t.Fatal("Mutate did not change the fingerprint")
	}

	err := restore(context.Background(), f.h, f.src, f.dump, victim)
	if !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("Restore into a non-empty destination without Clean: error = %v, want ErrNotEmpty", err)
	}
	if !strings.Contains(err.Error(), destName(victim)) {
		t.Errorf("ErrNotEmpty does not name the destination %q: %v", destName(victim), err)
	}
	if after := f.h.Fingerprint(t, f.src, victim); after != before {
		t.Fatalf("a refused restore changed the destination:\n%s", diff(before, after))
	}

	clean := victim
	clean.Clean = true
	if err := restore(context.Background(), f.h, f.src, f.dump, clean); err != nil {
		t.Fatalf("Restore with Clean: %v", err)
	}
	sameFingerprint(t, f.want, f.h.Fingerprint(t, f.src, victim))
}

// cleanOntoItself restores the source's own dump over it, without a
// destination: the default destination is the target's own data. An engine
// without a default destination must refuse, naming the target.
func (f fixture) cleanOntoItself(t *testing.T) {
	own := engine.RestoreOptions{}
	if f.traits.NeedsDestination {
		for _, clean := range []bool{false, true} {
			err := restore(context.Background(), f.h, f.src, f.dump, engine.RestoreOptions{Clean: clean})
			if err == nil {
				t.Fatalf("Restore without a destination (Clean %v) succeeded", clean)
			}
			mustName(t, err, f.src)
		}
		sameFingerprint(t, f.want, f.h.Fingerprint(t, f.src, own))
		return
	}
	if err := restore(context.Background(), f.h, f.src, f.dump, own); !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("Restore onto the source without Clean: error = %v, want ErrNotEmpty", err)
	}
	if err := restore(context.Background(), f.h, f.src, f.dump, engine.RestoreOptions{Clean: true}); err != nil {
		t.Fatalf("Restore onto the source with Clean: %v", err)
	}
	sameFingerprint(t, f.want, f.h.Fingerprint(t, f.src, own))
}

func sameFingerprint(t *testing.T, want, got string) {
	t.Helper()
	if got != want {
		t.Fatalf("restored data differs from the source (- source, + restored):\n%s", diff(want, got))
	}
}

// diff lists the lines only in a (-) or only in b (+).
func diff(a, b string) string {
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		inA[l] = true
	}
	for _, l := range strings.Split(b, "\n") {
		inB[l] = true
	}
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !inB[l] {
			out = append(out, "- "+clip(l))
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !inA[l] {
			out = append(out, "+ "+clip(l))
		}
	}
	return strings.Join(out, "\n")
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
