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

// roundTrip restores the dump into another database, missing or empty.
func (f fixture) roundTrip(t *testing.T, create bool) {
	into := f.h.NewDatabase(t, f.src, create)
	if err := restore(context.Background(), f.h, f.src, f.dump, engine.RestoreOptions{IntoDatabase: into}); err != nil {
		t.Fatalf("Restore into %s: %v", into, err)
	}
	sameFingerprint(t, f.want, f.h.Fingerprint(t, f.src, into))
}

// notEmptyThenClean: a database holding objects is refused, left as it was,
// and overwritten only with Clean.
func (f fixture) notEmptyThenClean(t *testing.T) {
	victim := f.h.NewDatabase(t, f.src, true)
	if err := restore(context.Background(), f.h, f.src, f.dump, engine.RestoreOptions{IntoDatabase: victim}); err != nil {
		t.Fatalf("Restore into %s: %v", victim, err)
	}
	f.h.Mutate(t, f.src, victim)
	before := f.h.Fingerprint(t, f.src, victim)
	if before == f.want {
		t.Fatal("Mutate did not change the fingerprint")
	}

	err := restore(context.Background(), f.h, f.src, f.dump, engine.RestoreOptions{IntoDatabase: victim})
	if !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("Restore into a non-empty database without Clean: error = %v, want ErrNotEmpty", err)
	}
	if !strings.Contains(err.Error(), victim) {
		t.Errorf("ErrNotEmpty does not name the database %q: %v", victim, err)
	}
	if after := f.h.Fingerprint(t, f.src, victim); after != before {
		t.Fatalf("a refused restore changed the database:\n%s", diff(before, after))
	}

	opts := engine.RestoreOptions{IntoDatabase: victim, Clean: true}
	if err := restore(context.Background(), f.h, f.src, f.dump, opts); err != nil {
		t.Fatalf("Restore with Clean: %v", err)
	}
	sameFingerprint(t, f.want, f.h.Fingerprint(t, f.src, victim))
}

// cleanOntoItself restores the source's own dump over it, without
// IntoDatabase: the default destination is the target's database.
func (f fixture) cleanOntoItself(t *testing.T) {
	if err := restore(context.Background(), f.h, f.src, f.dump, engine.RestoreOptions{}); !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("Restore onto the source without Clean: error = %v, want ErrNotEmpty", err)
	}
	if err := restore(context.Background(), f.h, f.src, f.dump, engine.RestoreOptions{Clean: true}); err != nil {
		t.Fatalf("Restore onto the source with Clean: %v", err)
	}
	sameFingerprint(t, f.want, f.h.Fingerprint(t, f.src, ""))
}

func sameFingerprint(t *testing.T, want, got string) {
	t.Helper()
	if got != want {
		t.Fatalf("restored database differs from the source (- source, + restored):\n%s", diff(want, got))
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
