package kubectlcoffer

import (
	"fmt"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/units"
)

// rates turns the per-target byte counts of status.progress into the
// --wait line. A target's rate is the change between the last two readings
// the controller wrote (their updateTimes apart), so it follows a dump that
// slows down; before a second reading it is the bytes over the time since
// the target started. The bytes shown are plain: what was read from the
// database or written to it, the figure a user can compare with the
// database's size.
type rates struct {
	last map[string]reading
}

type reading struct {
	bytes int64
	at    time.Time
	rate  string
}

// line describes every target of p: "main 1.2 GiB (45 MiB/s), logs waiting".
func (r *rates) line(p *v1alpha1.TransferProgress) string {
	if p == nil || len(p.Targets) == 0 {
		return ""
	}
	if r.last == nil {
		r.last = map[string]reading{}
	}
	at := p.UpdateTime.Time
	parts := make([]string, 0, len(p.Targets))
	for _, t := range p.Targets {
		switch t.Phase {
		case v1alpha1.TargetWaiting:
			parts = append(parts, t.Name+" waiting")
			continue
		case v1alpha1.TargetFailed:
			parts = append(parts, t.Name+" failed")
			continue
		case v1alpha1.TargetDone:
			parts = append(parts, t.Name+" "+units.Bytes(t.PlainBytes)+" done")
			continue
		}
		cur := reading{bytes: t.PlainBytes, at: at}
		prev, seen := r.last[t.Name]
		switch {
		case seen && at.After(prev.at):
			cur.rate = perSecond(t.PlainBytes-prev.bytes, at.Sub(prev.at))
		case seen: // the same reading again: keep its rate
			cur = prev
		case t.StartTime != nil && at.After(t.StartTime.Time):
			cur.rate = perSecond(t.PlainBytes, at.Sub(t.StartTime.Time))
		}
		r.last[t.Name] = cur
		s := t.Name + " " + units.Bytes(t.PlainBytes)
		if cur.rate != "" {
			s += " (" + cur.rate + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func perSecond(n int64, d time.Duration) string {
	if n < 0 || d <= 0 {
		return ""
	}
	return fmt.Sprintf("%s/s", units.Bytes(int64(float64(n)/d.Seconds())))
}
