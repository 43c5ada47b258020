package controller

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// The reconciler table tests run against the real runner API handler over
// a scripted Service, so every answer crosses the same HTTP contract as in
// a cluster; the API objects live in controller-runtime's fake client (the
// envtest tests cover the real API server).

const (
	testOperatorNS = "coffer-system"
	testNS         = "shop"
	testDefinition = "db"
	testToken      = "t0ken"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// scriptedRunner is a runnerapi.Service answering what a case scripts; an
// unscripted call is an internal error (500).
type scriptedRunner struct {
	mu           sync.Mutex
	trigger      func(runnerapi.BackupRequest) (runnerapi.Backup, error)
	backup       func(id string) (runnerapi.Backup, error)
	setLabel     func(id, label string, set bool) (runnerapi.Backup, error)
	startRestore func(runnerapi.RestoreRequest) (runnerapi.Restore, error)
	restore      func(id string) (runnerapi.Restore, error)
	// ready answers Ready; nil means ready.
	ready func() error
	// calls names the calls made, in order.
	calls []string
	// restoreRequests are the requests StartRestore got.
	restoreRequests []runnerapi.RestoreRequest
}

var errUnscripted = errors.New("not scripted")

func (s *scriptedRunner) note(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
}

func (s *scriptedRunner) Backups(context.Context) ([]runnerapi.Backup, error) {
	s.note("Backups")
	return nil, errUnscripted
}

func (s *scriptedRunner) Backup(_ context.Context, id string) (runnerapi.Backup, error) {
	s.note("Backup")
	if s.backup == nil {
		return runnerapi.Backup{}, errUnscripted
	}
	return s.backup(id)
}

func (s *scriptedRunner) TriggerBackup(_ context.Context, req runnerapi.BackupRequest) (runnerapi.Backup, error) {
	s.note("TriggerBackup")
	if s.trigger == nil {
		return runnerapi.Backup{}, errUnscripted
	}
	return s.trigger(req)
}

func (s *scriptedRunner) SetLabel(_ context.Context, id, label string, set bool) (runnerapi.Backup, error) {
	s.note("SetLabel")
	if s.setLabel == nil {
		return runnerapi.Backup{}, errUnscripted
	}
	return s.setLabel(id, label, set)
}

func (s *scriptedRunner) StartRestore(_ context.Context, req runnerapi.RestoreRequest) (runnerapi.Restore, error) {
	s.note("StartRestore")
	s.mu.Lock()
	s.restoreRequests = append(s.restoreRequests, req)
	s.mu.Unlock()
	if s.startRestore == nil {
		return runnerapi.Restore{}, errUnscripted
	}
	return s.startRestore(req)
}

func (s *scriptedRunner) Restore(_ context.Context, id string) (runnerapi.Restore, error) {
	s.note("Restore")
	if s.restore == nil {
		return runnerapi.Restore{}, errUnscripted
	}
	return s.restore(id)
}

func (s *scriptedRunner) Ready(context.Context) error {
	if s.ready == nil {
		return nil
	}
	return s.ready()
}

func (s *scriptedRunner) VolumePushes(context.Context) ([]runnerapi.VolumePush, error) {
	s.note("VolumePushes")
	return nil, nil
}

// fixture is one case's world: API objects, a runner and a clock.
type fixture struct {
	client  client.Client
	runners RunnerCalls
	clock   *scheduler.FakeClock
}

// newFixture serves svc with the real handler (or, with svc nil, points
// the runner's address at a port nothing listens on) and stores objs, the
// definition and its rendered config Secret.
func newFixture(t *testing.T, svc runnerapi.Service, objs ...client.Object) *fixture {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	def := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testDefinition, Generation: 1},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: "s3"}}}
	config := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testOperatorNS, Name: RunnerName(testNS, testDefinition)},
		Data: map[string][]byte{tokenKey: []byte(testToken)}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(append(objs, def, config)...).
		WithStatusSubresource(&v1alpha1.Backup{}, &v1alpha1.Restore{}, &v1alpha1.BackupDefinition{}).Build()

	srv := httptest.NewServer(runnerapi.NewHandler(svc, testToken, nil, nil))
	t.Cleanup(srv.Close)
	url := srv.URL
	if svc == nil {
		srv.Close() // nothing answers
	}
	return &fixture{
		client: c,
		runners: RunnerCalls{Reader: c, OperatorNamespace: testOperatorNS, HTTP: &http.Client{Timeout: 5 * time.Second},
			URL: func(_, _, _ string) string { return url }},
		clock: scheduler.NewFakeClock(t0),
	}
}

// runnerLost is how long the fixture's definition waits for its runner.
var runnerLost = v1alpha1.DefaultDrainTimeout + runnerLostMargin

// unreachableSince is a RunnerReachable condition: no answer since at.
func unreachableSince(at time.Time) metav1.Condition {
	return metav1.Condition{Type: ConditionRunnerReachable, Status: metav1.ConditionFalse, Reason: ReasonUnreachable,
		Message: "connection refused", ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(at)}
}

// checkConditions: each condition is one of the table's, with one of its
// reasons, and the wanted ones (type → reason) are there.
func checkConditions(t *testing.T, conds []metav1.Condition, want map[string]string) {
	t.Helper()
	for _, c := range conds {
		reasons, ok := conditionReasons[c.Type]
		if !ok || !slices.Contains(reasons, c.Reason) {
			t.Errorf("condition %s has reason %s, not in the table", c.Type, c.Reason)
		}
	}
	for typ, reason := range want {
		if c := meta.FindStatusCondition(conds, typ); c == nil || c.Reason != reason {
			t.Errorf("condition %s = %+v, want reason %s", typ, c, reason)
		}
	}
}
