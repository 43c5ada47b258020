package controller

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

func backupAt(def string, phase v1alpha1.BackupPhase, start time.Time, errMsg string) v1alpha1.Backup {
	return v1alpha1.Backup{Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: def}},
		Status: v1alpha1.BackupStatus{Phase: phase, StartTime: &metav1.Time{Time: start}, Error: errMsg}}
}

// TestCoverageDefinition: what coverage reads of a definition and its Backups.
func TestCoverageDefinition(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	ok, bad := v1alpha1.BackupCompleted, v1alpha1.BackupFailed
	tests := map[string]struct {
		backups     []v1alpha1.Backup
		lastBackup  time.Time
		conds       []metav1.Condition
		wantSuccess time.Time
		wantFailed  bool
		wantNotRdy  string
		wantReach   *bool
	}{
		"no backups": {},
		"completed":  {backups: []v1alpha1.Backup{backupAt("db", ok, t0, "")}, wantSuccess: t0},
		"a failure after the success": {backups: []v1alpha1.Backup{backupAt("db", ok, t0, ""), backupAt("db", bad, t0.Add(time.Hour), "boom")},
			wantSuccess: t0, wantFailed: true},
		"a success after the failure": {backups: []v1alpha1.Backup{backupAt("db", bad, t0, "boom"), backupAt("db", ok, t0.Add(time.Hour), "")},
			wantSuccess: t0.Add(time.Hour)},
		"status knows a newer success": {backups: []v1alpha1.Backup{backupAt("db", bad, t0, "boom")}, lastBackup: t0.Add(time.Hour),
			wantSuccess: t0.Add(time.Hour)},
		"running and other definitions' backups are ignored": {backups: []v1alpha1.Backup{backupAt("db", ok, t0, ""),
			backupAt("db", v1alpha1.BackupRunning, t0.Add(2*time.Hour), ""), backupAt("other", bad, t0.Add(time.Hour), "x")}, wantSuccess: t0},
		"not ready": {conds: []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonSecretMissing, Message: "Secret shop/pg"}},
			wantNotRdy: "SecretMissing: Secret shop/pg"},
		"ready, runner unreachable": {conds: []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue},
			{Type: ConditionRunnerReachable, Status: metav1.ConditionFalse}}, wantReach: new(bool)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			def := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"},
				Spec: v1alpha1.BackupDefinitionSpec{Targets: []v1alpha1.Target{
					{Name: "files", Filesystem: &v1alpha1.FilesystemTarget{Path: "/d", PersistentVolumeClaim: "files"}},
					{Name: "pg", Postgres: &v1alpha1.PostgresTarget{}, Covers: &v1alpha1.Covers{PersistentVolumeClaims: []string{"pgdata"},
						Selector: &metav1.LabelSelector{}}}}},
				Status: v1alpha1.BackupDefinitionStatus{Conditions: tc.conds}}
			if !tc.lastBackup.IsZero() {
				def.Status.LastBackupTime = &metav1.Time{Time: tc.lastBackup}
			}
			d := coverageDefinition(def, tc.backups)
			if !d.LastSuccess.Equal(tc.wantSuccess) || d.LastFailed != tc.wantFailed || d.NotReady != tc.wantNotRdy ||
				(d.RunnerReachable == nil) != (tc.wantReach == nil) || (d.RunnerReachable != nil && *d.RunnerReachable != *tc.wantReach) {
				t.Errorf("got success %s failed %v notReady %q reachable %v", d.LastSuccess, d.LastFailed, d.NotReady, d.RunnerReachable)
			}
			if !slices.Equal(d.Claims, []string{"files", "pgdata"}) || len(d.Selectors) != 1 || d.DrainTimeout != time.Hour {
				t.Errorf("claims %v, %d selectors, drain %s", d.Claims, len(d.Selectors), d.DrainTimeout)
			}
		})
	}
}
