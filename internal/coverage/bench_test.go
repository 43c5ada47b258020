package coverage

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cluster builds an input of claims spread over namespaces: per namespace
// one definition per four claims, alternating between naming its claims and
// selecting them, every other one in a time zone, every tenth claim
// annotated skip and every seventh covered by nothing.
func cluster(claims, namespaces int) Input {
	in := input(nil)
	in.Storages["s3"] = Storage{AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"backups": "allowed"}}}
	for n := range namespaces {
		ns := fmt.Sprintf("team-%02d", n)
		in.NamespaceLabels[ns] = map[string]string{"backups": "allowed"}
	}
	for i := range claims {
		ns := fmt.Sprintf("team-%02d", i*namespaces/claims) // consecutive claims share a namespace
		c := Claim{Namespace: ns, Name: fmt.Sprintf("data-%04d", i), Labels: map[string]string{"app": fmt.Sprintf("app-%d", i/4)}}
		if i%10 == 0 {
			c.Annotations = map[string]string{AnnotationBackup: BackupSkip, AnnotationReason: "cache"}
		}
		in.Claims = append(in.Claims, c)
		if i%4 != 0 {
			continue
		}
		d := Definition{Namespace: ns, Name: fmt.Sprintf("def-%04d", i), Storage: "s3", Schedule: "0 */6 * * *",
			DrainTimeout: time.Hour, Created: now.Add(-48 * time.Hour), LastSuccess: now.Add(-time.Duration(i%20) * time.Hour)}
		if i%8 == 0 {
			d.TimeZone = "Europe/Berlin"
			d.Selectors = []*metav1.LabelSelector{{MatchLabels: map[string]string{"app": c.Labels["app"]}}}
		} else {
			for j := i; j < i+4; j++ {
				if j%7 != 3 {
					d.Claims = append(d.Claims, fmt.Sprintf("data-%04d", j))
				}
			}
		}
		in.Definitions = append(in.Definitions, d)
	}
	return in
}

// BenchmarkCompute: the 1,000 claims across 50 namespaces, and ten
// times that to show time and memory grow linearly.
func BenchmarkCompute(b *testing.B) {
	for _, size := range []struct{ claims, namespaces int }{{1000, 50}, {10000, 500}} {
		in := cluster(size.claims, size.namespaces)
		b.Run(fmt.Sprintf("claims=%d/namespaces=%d", size.claims, size.namespaces), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Compute(in)
			}
		})
	}
}

// TestComputeScale is the bound as a test: 1,000 claims across 50
// namespaces in well under 5 s, with memory in proportion to the input.
func TestComputeScale(t *testing.T) {
	in := cluster(1000, 50)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	rep := Compute(in)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if took > 5*time.Second {
		t.Errorf("1,000 claims took %s", took)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("1,000 claims allocated %d bytes", alloc)
	}
	if len(rep.Claims) != 1000 || len(rep.Definitions) != 250 {
		t.Fatalf("%d claims, %d definitions", len(rep.Claims), len(rep.Definitions))
	}
	for _, s := range States {
		if rep.Totals[s] == 0 && s != Unprotected {
			t.Errorf("no %s claim in the fixture: %v", s, rep.Totals)
		}
	}
	t.Logf("1,000 claims, 50 namespaces: %s, totals %v", took, rep.Totals)
}
