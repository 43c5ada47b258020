package controller

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestRunnerName(t *testing.T) {
	cases := map[string]struct{ ns, name, want string }{
		"short":      {"shop", "main", "runner-shop-main"},
		"exactly 52": {strings.Repeat("a", 22), strings.Repeat("b", 22), "runner-" + strings.Repeat("a", 22) + "-" + strings.Repeat("b", 22)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := RunnerName(tc.ns, tc.name); got != tc.want {
				t.Fatalf("RunnerName = %q, want %q", got, tc.want)
			}
		})
	}
	long1 := RunnerName(strings.Repeat("n", 40), strings.Repeat("d", 40))
	long2 := RunnerName(strings.Repeat("n", 40), strings.Repeat("d", 39)+"e")
	if len(long1) > 52 || len(long2) > 52 || long1 == long2 {
		t.Fatalf("long names must fit 52 characters and stay distinct: %q %q", long1, long2)
	}
	if strings.HasSuffix(strings.TrimSuffix(long1, long1[len(long1)-11:]), "-") {
		t.Fatalf("no double dash before the hash: %q", long1)
	}
}

// What the API server and the StatefulSet controller require of the names
// and labels rendered for definitions at the limits: a 63-character
// namespace and a 253-character definition name.
func TestNamesAtTheLimits(t *testing.T) {
	ns := strings.Repeat("n", 63)
	defs := map[string]string{
		"253 characters":      strings.Repeat("d", 253),
		"253 with dots":       strings.Repeat("a.", 126) + "b",
		"runner name of 53":   strings.Repeat("x", 53-len("runner--")-4),
		"runner name of 63":   strings.Repeat("y", 63-len("runner--")-4),
		"namespace-long only": "main",
	}
	for name, def := range defs {
		t.Run(name, func(t *testing.T) {
			for _, namespace := range []string{ns, "shop"} {
				runner := RunnerName(namespace, def)
				// The StatefulSet's pod: <runner>-0 as hostname and label,
				// <runner>-<revision hash> as a label.
				for _, v := range []string{runner + "-0", runner + "-6d4f8b9c7f"} {
					if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
						t.Errorf("%q: %v", v, errs)
					}
				}
				for k, v := range runnerLabels(namespace, def) {
					if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
						t.Errorf("label %s=%q: %v", k, v, errs)
					}
				}
				if errs := validation.IsValidLabelValue(LabelValue(def)); len(errs) > 0 {
					t.Errorf("LabelValue(%q): %v", def, errs)
				}
			}
		})
	}
	a, b := strings.Repeat("d", 253), strings.Repeat("d", 252)+"e"
	if LabelValue(a) == LabelValue(b) {
		t.Error("label values of distinct long names collide")
	}
	id := "20261121T103000Z-k3f9"
	ma, mb := mirroredBackupName(a, id), mirroredBackupName(b, id)
	if ma == mb || len(ma) > 253 || !strings.HasSuffix(ma, strings.ToLower(id)) {
		t.Errorf("mirrored Backup names %q and %q: want distinct, ≤ 253, ending in the id", ma, mb)
	}
	if errs := validation.IsDNS1123Subdomain(ma); len(errs) > 0 {
		t.Errorf("%q: %v", ma, errs)
	}
}
