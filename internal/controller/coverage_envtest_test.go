package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/coverage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// metricsAddr is where the package's controller serves /metrics and
// /coverage, so tests read them as Prometheus and scripts do.
var metricsAddr = freeLoopbackAddr()

func freeLoopbackAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func httpGet(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", path, resp.Status, err)
	}
	return string(b)
}

// claimReport is a claim's entry in the controller's JSON report.
func claimReport(t *testing.T, ns, name string) coverage.ClaimReport {
	t.Helper()
	var rep coverage.Report
	if err := json.Unmarshal([]byte(httpGet(t, coverage.HandlerPath+"?namespace="+ns)), &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Claims {
		if c.Name == name {
			return c
		}
	}
	return coverage.ClaimReport{}
}

// waitState waits until the report gives the claim state, its reason
// containing reason.
func waitState(t *testing.T, ns, name string, state coverage.State, reason string) {
	t.Helper()
	var last coverage.ClaimReport
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if last = claimReport(t, ns, name); last.State == state && strings.Contains(last.Reason, reason) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s/%s: %s (%s), want %s containing %q", ns, name, last.State, last.Reason, state, reason)
}

func pvc(t *testing.T, e *testutil.Envtest, ns, name string, labels map[string]string) {
	t.Helper()
	mustCreate(t, e, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}})
}

// waitEvent waits for an Event of reason on the claim, its note containing
// note. The Events API folds a repeat of the same reason within minutes into
// the first Event's series (keeping its note), so a repeat counts too.
func waitEvent(t *testing.T, e *testutil.Envtest, ns, claim, reason, kind, note string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, fmt.Sprintf("%s Event %s on %s/%s", kind, reason, ns, claim), func() bool {
		var evs eventsv1.EventList
		if err := e.Client.List(context.Background(), &evs, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, ev := range evs.Items {
			if ev.Regarding.Kind == "PersistentVolumeClaim" && ev.Regarding.Name == claim && ev.Reason == reason && ev.Type == kind &&
				(strings.Contains(ev.Note, note) || ev.Series != nil && ev.Series.Count >= 2) {
				return true
			}
		}
		return false
	})
}

func waitMetric(t *testing.T, line string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, "metric "+line, func() bool { return strings.Contains(httpGet(t, "/metrics"), line+"\n") })
}

// mirroredBackup creates a Backup of def as the controller mirrors one.
func mirroredBackup(t *testing.T, e *testutil.Envtest, ns, def, name string) *v1alpha1.Backup {
	t.Helper()
	b := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Labels: map[string]string{controller.LabelMirrored: "true", controller.LabelDefinition: def}},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: def}}}
	mustCreate(t, e, b)
	return b
}

// completedBackup creates a mirrored Backup of def, Completed, started at start.
func completedBackup(t *testing.T, e *testutil.Envtest, ns, def, name string, start time.Time) *v1alpha1.Backup {
	t.Helper()
	b := mirroredBackup(t, e, ns, def, name)
	setBackupStatus(t, e, b, v1alpha1.BackupCompleted, start)
	return b
}

func setBackupStatus(t *testing.T, e *testutil.Envtest, b *v1alpha1.Backup, phase v1alpha1.BackupPhase, start time.Time) {
	t.Helper()
	orig := b.DeepCopy()
	b.Status.Phase, b.Status.BackupID = phase, "20261121T103000Z-"+b.Name
	b.Status.StartTime, b.Status.EndTime = &metav1.Time{Time: start}, &metav1.Time{Time: start.Add(time.Minute)}
	if err := e.Client.Status().Patch(context.Background(), b, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
}

func annotate(t *testing.T, e *testutil.Envtest, obj client.Object, kv map[string]string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kv}})
	if err := e.Client.Patch(context.Background(), obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
}
