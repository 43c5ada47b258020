package v1alpha1

import (
	"os"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/internal/phase"
)

// TestPhaseMapping: every runner phase maps to a value of the CRD's enum and
// back, and the enums hold nothing else; the CRDs are read as generated.
func TestPhaseMapping(t *testing.T) {
	tests := map[string]struct {
		crd       string
		to        func(phase.Phase) string
		back      func(string) phase.Phase
		constants []string
		phases    []phase.Phase
	}{
		"Backup": {
			crd:  "../../config/crd/bases/coffer.dev_backups.yaml",
			to:   func(p phase.Phase) string { return string(BackupPhaseOf(p)) },
			back: func(s string) phase.Phase { return BackupPhase(s).Phase() },
			constants: []string{string(BackupPending), string(BackupRunning), string(BackupCompleted),
				string(BackupFailed)},
			phases: phase.Backups,
		},
		"Restore": {
			crd:  "../../config/crd/bases/coffer.dev_restores.yaml",
			to:   func(p phase.Phase) string { return string(RestorePhaseOf(p)) },
			back: func(s string) phase.Phase { return RestorePhase(s).Phase() },
			constants: []string{string(RestorePending), string(RestoreRunning), string(RestoreCompleted),
				string(RestorePartiallyFailed), string(RestoreFailed)},
			phases: phase.All,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			enum := statusPhaseEnum(t, tc.crd)
			var mapped []string
			for _, p := range tc.phases {
				s := tc.to(p)
				if !slices.Contains(enum, s) {
					t.Errorf("%s maps to %q, not in the CRD enum %v", p, s, enum)
				}
				if back := tc.back(s); back != p {
					t.Errorf("%s maps to %q and back to %s", p, s, back)
				}
				mapped = append(mapped, s)
			}
			if !slices.Equal(enum, mapped) {
				t.Errorf("CRD enum %v, runner phases map to %v", enum, mapped)
			}
			if !slices.Equal(tc.constants, mapped) {
				t.Errorf("constants %v, want %v", tc.constants, mapped)
			}
		})
	}
	for _, p := range phase.All {
		if BackupPhaseOf(p).Final() != p.Final() || RestorePhaseOf(p).Final() != p.Final() {
			t.Errorf("%s: Final differs", p)
		}
	}
}

// statusPhaseEnum reads status.phase's enum from a generated CRD.
func statusPhaseEnum(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Status struct {
								Properties struct {
									Phase struct {
										Enum []string `json:"enum"`
									} `json:"phase"`
								} `json:"properties"`
							} `json:"status"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil || len(crd.Spec.Versions) != 1 {
		t.Fatalf("%s: %v (%d versions)", path, err, len(crd.Spec.Versions))
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Status.Properties.Phase.Enum
}

// TestTargetPhaseMapping: status.progress.targets[].phase of both CRDs
// holds exactly the runner's target phases, and the constants spell them.
func TestTargetPhaseMapping(t *testing.T) {
	var want []string
	for _, p := range phase.Targets {
		want = append(want, string(TargetPhaseOf(p)))
	}
	if consts := []string{string(TargetWaiting), string(TargetRunning), string(TargetDone), string(TargetFailed)}; !slices.Equal(consts, want) {
		t.Errorf("constants %v, want %v", consts, want)
	}
	for _, crd := range []string{"../../config/crd/bases/coffer.dev_backups.yaml", "../../config/crd/bases/coffer.dev_restores.yaml"} {
		data, err := os.ReadFile(crd)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		var node any = doc
		path := []any{"spec", "versions", 0, "schema", "openAPIV3Schema", "properties", "status", "properties", "progress",
			"properties", "targets", "items", "properties", "phase", "enum"}
		for _, k := range path {
			switch k := k.(type) {
			case string:
				m, _ := node.(map[string]any)
				node = m[k]
			case int:
				l, _ := node.([]any)
				if len(l) <= k {
					t.Fatalf("%s: no %v", crd, path)
				}
				node = l[k]
			}
		}
		var enum []string
		for _, e := range node.([]any) {
			enum = append(enum, e.(string))
		}
		if !slices.Equal(enum, want) {
			t.Errorf("%s: target phase enum %v, want %v", crd, enum, want)
		}
	}
}
