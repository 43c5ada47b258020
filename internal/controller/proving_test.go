package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/internal/runnerapi"
)

func TestProvingConditions(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		st   runnerapi.RunnerStatus
		want map[string]string // type -> "True/Reason" or "False/Reason"; text the message holds after "|"
	}{
		"nothing used": {runnerapi.RunnerStatus{}, map[string]string{}},
		"not run yet": {runnerapi.RunnerStatus{Offsite: &runnerapi.OffsiteStatus{Storage: "s3://far"}, Verify: &runnerapi.VerifyStatus{},
			RestoreTest: &runnerapi.RestoreTestStatus{}}, map[string]string{}},
		"all good": {runnerapi.RunnerStatus{
			Offsite:     &runnerapi.OffsiteStatus{Storage: "s3://far", LastRunTime: at, Backups: 4},
			Verify:      &runnerapi.VerifyStatus{LastRunTime: at},
			RestoreTest: &runnerapi.RestoreTestStatus{Last: &runnerapi.RestoreTest{BackupID: "b1", Status: "Passed"}},
		}, map[string]string{ConditionOffsiteCopied: "True/Copied|s3://far (4)", ConditionVerified: "True/Verified|", ConditionRestoreTested: "True/Passed|b1"}},
		"all bad": {runnerapi.RunnerStatus{
			Offsite: &runnerapi.OffsiteStatus{Storage: "s3://far", LastRunTime: at, Waiting: []string{"b2"}, Error: "connection refused"},
			Verify: &runnerapi.VerifyStatus{LastRunTime: at, Problems: []runnerapi.ObjectProblem{
				{Storage: "primary", BackupID: "b1", Object: "ns/d/b1/main.pgdump.zst", Problem: "corrupt"}}},
			RestoreTest: &runnerapi.RestoreTestStatus{Last: &runnerapi.RestoreTest{BackupID: "b2", Status: "Failed", Error: `check "select 1 = 2": false`}},
		}, map[string]string{ConditionOffsiteCopied: "False/CopyFailing|connection refused", ConditionVerified: "False/ObjectsFailedVerification|corrupt primary object ns/d/b1/main.pgdump.zst of backup b1",
			ConditionRestoreTested: `False/Failed|select 1 = 2`}},
		"restore test running": {runnerapi.RunnerStatus{RestoreTest: &runnerapi.RestoreTestStatus{Last: &runnerapi.RestoreTest{Status: "Running"}}}, map[string]string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := provingConditions(tc.st, 3)
			if len(got) != len(tc.want) {
				t.Fatalf("conditions %+v, want %v", got, tc.want)
			}
			for _, c := range got {
				want := tc.want[c.Type]
				head, text, _ := strings.Cut(want, "|")
				if string(c.Status)+"/"+c.Reason != head || !strings.Contains(c.Message, text) || c.ObservedGeneration != 3 {
					t.Errorf("%s: %s/%s %q, want %s containing %q", c.Type, c.Status, c.Reason, c.Message, head, text)
				}
				if c.Status != metav1.ConditionTrue && c.Status != metav1.ConditionFalse {
					t.Errorf("%s: status %q", c.Type, c.Status)
				}
			}
		})
	}
}
