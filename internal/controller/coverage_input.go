package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/coverage"
)

// coverageDefinition is what the coverage report needs of a definition and
// the Backups of its namespace (mirrored and on-demand alike: a Completed
// on-demand backup protects the data as well as a scheduled one).
func coverageDefinition(def *v1alpha1.BackupDefinition, backups []v1alpha1.Backup) coverage.Definition {
	d := coverage.Definition{
		Namespace: def.Namespace, Name: def.Name, Storage: def.Spec.StorageRef.Name,
		Schedule: def.Spec.Schedule, TimeZone: def.Spec.TimeZone, Suspend: def.Spec.Suspend,
		DrainTimeout: def.Spec.Runner.EffectiveDrainTimeout(), Created: def.CreationTimestamp.Time,
	}
	if c := def.Spec.Coverage; c != nil && c.StaleAfter != nil {
		d.StaleAfter = c.StaleAfter.Duration
	}
	if t := def.Status.LastBackupTime; t != nil {
		d.LastSuccess = t.Time
	}
	newestBackups(&d, def.Name, backups)
	readiness(&d, def.Status.Conditions)
	for _, t := range def.Spec.Targets {
		if t.Filesystem != nil && t.Filesystem.PersistentVolumeClaim != "" {
			d.Claims = append(d.Claims, t.Filesystem.PersistentVolumeClaim)
		}
		if t.Covers != nil {
			d.Claims = append(d.Claims, t.Covers.PersistentVolumeClaims...)
			if t.Covers.Selector != nil {
				d.Selectors = append(d.Selectors, t.Covers.Selector)
			}
		}
	}
	return d
}

// newestBackups sets the newest Completed backup's start and whether the
// newest finished one failed, from the Backups of the definition name.
func newestBackups(d *coverage.Definition, name string, backups []v1alpha1.Backup) {
	var newest time.Time
	for i := range backups {
		b := &backups[i]
		if b.Spec.DefinitionRef.Name != name {
			continue
		}
		start := backupStart(b)
		switch b.Status.Phase {
		case v1alpha1.BackupCompleted:
			if start.After(d.LastSuccess) {
				d.LastSuccess = start
			}
		case v1alpha1.BackupFailed:
		default:
			continue
		}
		if !start.Before(newest) {
			newest = start
			d.LastFailed = b.Status.Phase == v1alpha1.BackupFailed
			d.LastError = b.Status.Error
		}
	}
	if d.LastFailed && !newest.After(d.LastSuccess) {
		d.LastFailed, d.LastError = false, "" // status.lastBackupTime knows a newer success
	}
}

// readiness reads the Ready and RunnerReachable conditions.
func readiness(d *coverage.Definition, conds []metav1.Condition) {
	if ready := meta.FindStatusCondition(conds, ConditionReady); ready != nil {
		switch ready.Status {
		case metav1.ConditionFalse:
			d.NotReady = ready.Reason + ": " + ready.Message
		case metav1.ConditionTrue:
			// Only a rendered runner can be reached or not.
			if rr := meta.FindStatusCondition(conds, ConditionRunnerReachable); rr != nil {
				ok := rr.Status == metav1.ConditionTrue
				d.RunnerReachable = &ok
			}
		}
	}
}

// backupStart orders Backups: the runner's start, else when it was created.
func backupStart(b *v1alpha1.Backup) time.Time {
	if b.Status.StartTime != nil {
		return b.Status.StartTime.Time
	}
	return b.CreationTimestamp.Time
}

// coverageClaim is a claim's metadata as the coverage report reads it.
func coverageClaim(m *metav1.PartialObjectMetadata) coverage.Claim {
	return coverage.Claim{Namespace: m.Namespace, Name: m.Name, Labels: m.Labels, Annotations: m.Annotations}
}
