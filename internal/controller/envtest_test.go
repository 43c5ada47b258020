package controller_test

import (
	"context"

	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

func TestMain(m *testing.M) { testutil.EnvtestMain(m, func() { stopManager() }) }

// operatorNS is the operator namespace of the package's one controller.
const operatorNS = "coffer-system"

// runnerURLs lets a test point the controller at a runner it started.
var runnerURLs sync.Map // "ns/name" -> base URL

var (
	startOnce sync.Once
	shared    *testutil.Envtest
	// stopManager stops the controller before the API server goes.
	stopManager = func() {}
)

// cluster returns the shared API server with the controller running on it.
func cluster(t *testing.T) *testutil.Envtest {
	t.Helper()
	e := testutil.SharedEnvtest(t)
	startOnce.Do(func() {
		ctrl.SetLogger(logr.Discard())
		ctx, cancel := context.WithCancel(context.Background())
		stopManager = cancel
		if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		mgr, err := ctrl.NewManager(e.Config, ctrl.Options{Scheme: e.Scheme, Metrics: metricsserver.Options{BindAddress: metricsAddr},
			Cache: controller.CacheOptions(operatorNS), Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}})
		if err != nil {
			t.Fatal(err)
		}
		err = controller.Setup(ctx, mgr, controller.Config{
			Settings:     controller.Settings{OperatorNamespace: operatorNS, RunnerImage: "coffer-runner:test", ImagePullSecrets: []string{"regcred"}},
			SyncInterval: 2 * time.Second,
			HTTP:         &http.Client{Timeout: 5 * time.Second},
			RunnerURL: func(_, ns, name string) string {
				if u, ok := runnerURLs.Load(ns + "/" + name); ok {
					return u.(string)
				}
				return "http://127.0.0.1:1" // nothing listens: the runner is "down"
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if err := mgr.Start(ctx); err != nil {
				panic(err)
			}
		}()
		shared = e
	})
	return shared
}

// appNamespace creates a namespace with the label storages admit.
func appNamespace(t *testing.T, e *testutil.Envtest, allowed bool) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "app-", Labels: map[string]string{}}}
	if allowed {
		ns.Labels["backups"] = "allowed"
	}
	mustCreate(t, e, ns)
	return ns.Name
}

func mustCreate(t *testing.T, e *testutil.Envtest, obj client.Object) {
	t.Helper()
	if err := e.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// storage creates a BackupStorage admitting namespaces labelled backups=allowed.
func storage(t *testing.T, e *testutil.Envtest, name string) {
	t.Helper()
	mustCreate(t, e, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name + "-s3"},
		StringData: map[string]string{"accessKeyID": "AK", "secretAccessKey": "SK"}})
	mustCreate(t, e, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name},
		Spec: v1alpha1.BackupStorageSpec{
			S3:                &v1alpha1.S3Storage{Bucket: "b", Endpoint: "http://127.0.0.1:9", CredentialsSecretRef: &v1alpha1.SecretReference{Name: name + "-s3"}},
			AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"backups": "allowed"}},
		}})
}

// definition creates a BackupDefinition with a postgres target whose password is in Secret "pg".
func definition(t *testing.T, e *testutil.Envtest, ns, name, storageName string) *v1alpha1.BackupDefinition {
	t.Helper()
	if err := e.Client.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg"},
		StringData: map[string]string{"password": "pw-1"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	d := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: storageName}, Schedule: "0 * * * *",
			Targets: []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "db", Database: "shop", User: "app",
				PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: "pg", Key: "password"}}}}}}
	mustCreate(t, e, d)
	return d
}

func runnerKey(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: operatorNS, Name: controller.RunnerName(ns, name)}
}

func statefulSet(t *testing.T, e *testutil.Envtest, ns, name string) (*appsv1.StatefulSet, bool) {
	sts := &appsv1.StatefulSet{}
	err := e.Client.Get(context.Background(), runnerKey(ns, name), sts)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return sts, true
}

func runnerObjectsExist(t *testing.T, e *testutil.Envtest, ns, name string) (sts, svc, sec bool) {
	ctx := context.Background()
	key := runnerKey(ns, name)
	exists := func(obj client.Object) bool {
		err := e.Client.Get(ctx, key, obj)
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	return exists(&appsv1.StatefulSet{}), exists(&corev1.Service{}), exists(&corev1.Secret{})
}

func readyCondition(t *testing.T, e *testutil.Envtest, ns, name string) *metav1.Condition {
	d := &v1alpha1.BackupDefinition{}
	if err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, d); err != nil {
		return nil
	}
	return meta.FindStatusCondition(d.Status.Conditions, controller.ConditionReady)
}

func hashOf(sts *appsv1.StatefulSet) string {
	return sts.Spec.Template.Annotations[controller.AnnotationConfigHash]
}

func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9) }

// runnerRunning plays kubelet for a definition's runner: once its
// StatefulSet exists, it reports a ready replica (envtest runs no pods),
// so the definition can be Ready.
func runnerRunning(t *testing.T, e *testutil.Envtest, ns, name string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, "runner StatefulSet of "+ns+"/"+name+" reported ready", func() bool {
		sts, ok := statefulSet(t, e, ns, name)
		if !ok {
			return false
		}
		sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = 1, 1, 1
		return e.Client.Status().Update(context.Background(), sts) == nil
	})
}
