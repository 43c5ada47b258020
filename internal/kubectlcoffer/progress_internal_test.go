package kubectlcoffer

import (
	"bytes"
	"testing"
	"time"
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
