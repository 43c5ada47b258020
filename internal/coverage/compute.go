package coverage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// evaluated is a definition with its verdict and parsed claim matchers.
type evaluated struct {
	report    DefinitionReport
	names     map[string]bool
	selectors []labels.Selector
}

// covers reports whether the definition names or selects the claim.
func (e *evaluated) covers(c *Claim) bool {
	if e.names[c.Name] {
		return true
	}
	for _, s := range e.selectors {
		if s.Matches(labels.Set(c.Labels)) {
			return true
		}
	}
	return false
}

// Compute judges every definition and gives every claim its state. A
// definition covers claims of its own namespace only: a tenant cannot
// protect, or hide, another namespace's data.
func Compute(in Input) Report {
	rep := Report{GeneratedAt: in.Now.UTC(), Totals: make(map[State]int, len(States))}
	for _, s := range States {
		rep.Totals[s] = 0
	}
	byNS := make(map[string][]*evaluated)
	all := make([]*evaluated, 0, len(in.Definitions))
	for i := range in.Definitions {
		d := &in.Definitions[i]
		e := evaluate(&in, d)
		byNS[d.Namespace] = append(byNS[d.Namespace], e)
		all = append(all, e)
		if st := e.report.StaleAt; st != nil && st.After(in.Now) && (rep.NextChange.IsZero() || st.Before(rep.NextChange)) {
			rep.NextChange = *st
		}
	}
	for _, defs := range byNS {
		slices.SortFunc(defs, func(a, b *evaluated) int { return cmp.Compare(a.report.Name, b.report.Name) })
	}
	rep.Claims = make([]ClaimReport, 0, len(in.Claims))
	var covering []*evaluated
	for i := range in.Claims {
		c := &in.Claims[i]
		covering = covering[:0]
		for _, e := range byNS[c.Namespace] {
			if e.covers(c) {
				covering = append(covering, e)
				e.report.CoveredPVCs++
				if e.report.Protecting {
					e.report.ProtectedPVCs++
				}
			}
		}
		cr := judgeClaim(c, covering)
		rep.Totals[cr.State]++
		rep.Claims = append(rep.Claims, cr)
	}
	slices.SortFunc(rep.Claims, func(a, b ClaimReport) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	rep.Definitions = make([]DefinitionReport, 0, len(all))
	for _, e := range all {
		rep.Definitions = append(rep.Definitions, e.report)
	}
	slices.SortFunc(rep.Definitions, func(a, b DefinitionReport) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return rep
}

func evaluate(in *Input, d *Definition) *evaluated {
	e := &evaluated{report: judge(in, d), names: make(map[string]bool, len(d.Claims))}
	for _, n := range d.Claims {
		e.names[n] = true
	}
	for _, ls := range d.Selectors {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			e.report.Reason += fmt.Sprintf("; a covers.selector is invalid and ignored: %v", err)
			continue
		}
		e.selectors = append(e.selectors, sel)
	}
	return e
}

// judgeClaim: a fresh covering definition protects; else a covering one
// that may run makes it stale; else the owner's annotation may exclude it;
// else it is unprotected. Actual coverage wins over an annotation: a claim
// some definition backs up is judged by that backup.
func judgeClaim(c *Claim, covering []*evaluated) ClaimReport {
	r := ClaimReport{Namespace: c.Namespace, Name: c.Name}
	var runnable []*evaluated
	for _, e := range covering {
		r.Definitions = append(r.Definitions, e.report.Name)
		if e.report.Protecting && r.State == "" {
			r.State, r.Reason = Protected, "protected by "+e.report.Name+": "+e.report.Reason
		}
		if !e.report.Blocked {
			runnable = append(runnable, e)
		}
	}
	note := ""
	if v := c.Annotations[AnnotationBackup]; v != "" && len(runnable) > 0 {
		note = fmt.Sprintf(" (%s=%s is ignored: a definition covers it)", AnnotationBackup, v)
	}
	switch {
	case r.State == Protected:
		r.Reason += note
		return r
	case len(runnable) > 0:
		parts := make([]string, 0, len(runnable))
		for _, e := range runnable {
			parts = append(parts, e.report.Name+": "+e.report.Reason)
		}
		r.State, r.Reason = Stale, "covered, but "+strings.Join(parts, "; ")+note
		return r
	}
	if excluded(c, &r) {
		return r
	}
	var parts []string
	if r.Reason != "" { // an incomplete or unknown annotation
		parts = append(parts, r.Reason)
	}
	for _, e := range covering {
		parts = append(parts, e.report.Name+" cannot back it up: "+e.report.Reason)
	}
	r.State = Unprotected
	if len(parts) == 0 {
		parts = append(parts, "no BackupDefinition backs it up or covers it: add a filesystem target with persistentVolumeClaim, "+
			"name it in a target's covers, or annotate it "+AnnotationBackup+"=skip|external")
	}
	r.Reason = strings.Join(parts, "; ")
	return r
}

// excluded applies the owner's annotations. It sets Unprotected with a
// reason for an annotation that is incomplete or unknown.
func excluded(c *Claim, r *ClaimReport) bool {
	switch v := c.Annotations[AnnotationBackup]; v {
	case "":
		return false
	case BackupSkip:
		if why := strings.TrimSpace(c.Annotations[AnnotationReason]); why != "" {
			r.State, r.Reason = Excluded, "skipped by its owner: "+why
			return true
		}
		r.State, r.Reason = Unprotected, AnnotationBackup+"=skip needs "+AnnotationReason+" saying why"
	case BackupExternal:
		if how := strings.TrimSpace(c.Annotations[AnnotationMethod]); how != "" {
			r.State, r.Reason, r.Method = Excluded, "backed up outside Coffer: "+how, how
			return true
		}
		r.State, r.Reason = Unprotected, AnnotationBackup+"=external needs "+AnnotationMethod+" naming how it is backed up"
	default:
		r.State, r.Reason = Unprotected, fmt.Sprintf("%s=%q is not skip or external", AnnotationBackup, v)
	}
	return false
}
