package kubectlcoffer

import (
	"bytes"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// On a terminal the line is rewritten in place each poll; in a pipe a line
// is printed only when what it says changes, so logs stay short.
func TestProgressLine(t *testing.T) {
	start := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		terminal bool
		want     string
	}{
		{true, "\r\033[Kbackup b: Pending (0s)\r\033[Kbackup b: Pending (1s)\r\033[Kbackup b: Running (2s)\n"},
		{false, "backup b: Pending (0s)\nbackup b: Running (2s)\n"},
	} {
		var out bytes.Buffer
		p := &progress{w: &out, terminal: c.terminal}
		p.show("backup b: Pending", start, start)
		p.show("backup b: Pending", start, start.Add(time.Second))
		p.show("backup b: Running", start, start.Add(2*time.Second))
		p.done()
		if out.String() != c.want {
			t.Errorf("terminal %t: %q, want %q", c.terminal, out.String(), c.want)
		}
	}
}

// The rate is bytes over the time since the start at the first reading,
// then the change between readings; a reading seen again keeps its rate.
func TestRates(t *testing.T) {
	start := metav1.NewTime(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	reading := func(at time.Duration, main int64, logs v1alpha1.TargetPhase) *v1alpha1.TransferProgress {
		return &v1alpha1.TransferProgress{UpdateTime: metav1.NewTime(start.Add(at)), Targets: []v1alpha1.TargetProgress{
			{Name: "main", Phase: v1alpha1.TargetRunning, PlainBytes: main, StartTime: &start},
			{Name: "logs", Phase: logs, PlainBytes: 3 << 10},
		}}
	}
	var r rates
	for i, c := range []struct {
		p    *v1alpha1.TransferProgress
		want string
	}{
		{reading(10*time.Second, 100<<20, v1alpha1.TargetWaiting), "main 100.0 MiB (10.0 MiB/s), logs waiting"},
		{reading(10*time.Second, 100<<20, v1alpha1.TargetWaiting), "main 100.0 MiB (10.0 MiB/s), logs waiting"},
		{reading(15*time.Second, 200<<20, v1alpha1.TargetDone), "main 200.0 MiB (20.0 MiB/s), logs 3.0 KiB done"},
		{reading(20*time.Second, 200<<20, v1alpha1.TargetFailed), "main 200.0 MiB (0 B/s), logs failed"},
		{nil, ""},
	} {
		if got := r.line(c.p); got != c.want {
			t.Errorf("reading %d: %q, want %q", i, got, c.want)
		}
	}
}
