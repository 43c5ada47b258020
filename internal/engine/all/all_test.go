package all

import (
	"errors"
	"testing"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

func TestFor(t *testing.T) {
	pg := &v1alpha1.PostgresTarget{Host: "127.0.0.1", Database: "shop", User: "postgres"}
	my := &v1alpha1.MySQLTarget{Host: "127.0.0.1", Database: "ci", User: "root"}
	tests := map[string]struct {
		target  v1alpha1.Target
		want    string
		wantErr error
	}{
		"postgres": {target: v1alpha1.Target{Name: "a", Postgres: pg}, want: "postgres"},
		"mysql":    {target: v1alpha1.Target{Name: "b", MySQL: my}, want: "mysql"},
		"none":     {target: v1alpha1.Target{Name: "c"}, wantErr: ErrNoEngine},
		"several":  {target: v1alpha1.Target{Name: "d", Postgres: pg, MySQL: my}, wantErr: ErrSeveralEngines},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := For(tc.target)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("For() error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("For(): %v", err)
			}
			if e.Name() != tc.want {
				t.Fatalf("For() = %q, want %q", e.Name(), tc.want)
			}
		})
	}
}

// TestRegistrations guards the registry itself: every engine once, each
// selected by its own block only.
func TestRegistrations(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Engines() {
		if seen[e.Name()] {
			t.Errorf("engine %q registered twice", e.Name())
		}
		seen[e.Name()] = true
		if e.Extension() == "" {
			t.Errorf("engine %q has no extension", e.Name())
		}
	}
	for _, e := range Entries() {
		if e.Selects(&v1alpha1.Target{}) {
			t.Errorf("engine %q selects a target without blocks", e.Block)
		}
		if e.SecretRefs == nil || e.Validate == nil || e.New == nil {
			t.Errorf("entry %q is incomplete", e.Block)
		}
	}
	// The block key is the engine's name, which manifests record.
	for _, e := range Entries() {
		var tg v1alpha1.Target
		if got := e.New(&tg, Services{}).Name(); got != e.Block {
			t.Errorf("entry %q builds engine %q", e.Block, got)
		}
	}
}
