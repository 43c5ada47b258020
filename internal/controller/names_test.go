package controller

import (
	"strings"
	"testing"
)

func TestRunnerName(t *testing.T) {
	cases := map[string]struct{ ns, name, want string }{
		"short":      {"shop", "main", "runner-shop-main"},
		"exactly 63": {strings.Repeat("a", 28), strings.Repeat("b", 27), "runner-" + strings.Repeat("a", 28) + "-" + strings.Repeat("b", 27)},
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
	if len(long1) > 63 || len(long2) > 63 || long1 == long2 {
		t.Fatalf("long names must fit 63 characters and stay distinct: %q %q", long1, long2)
	}
	if strings.HasSuffix(strings.TrimSuffix(long1, long1[len(long1)-11:]), "-") {
		t.Fatalf("no double dash before the hash: %q", long1)
	}
}
