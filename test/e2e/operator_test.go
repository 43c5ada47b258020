package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOperatorEndToEnd: definition → runner objects → (this test plays
// kubelet: it runs coffer-runner from the rendered pod template and config
// Secret) → scheduled backup → Backup objects → Restore into a new database
// → data equal → on-demand Backup → definition deleted → runner objects gone.
func TestOperatorEndToEnd(t *testing.T) {
	env := testutil.StartEnvtest(t)
	src := pgDB(t, true)
	m := testutil.StartMinIO(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := env.Client
	const opNS = "coffer-system"
	urls := &sync.Map{}
	startController(t, ctx, env, opNS, urls)

	age := keyPair(t)
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opNS}})
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"coffer.dev/backups": "on"}}})
	create(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "minio"},
		StringData: map[string]string{"accessKeyID": m.AccessKey, "secretAccessKey": m.SecretKey}})
	create(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "age"}, StringData: map[string]string{"identity": age.String()}})
	create(t, c, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "minio"}, Spec: v1alpha1.BackupStorageSpec{
		S3: &v1alpha1.S3Storage{Bucket: m.Bucket, Prefix: "cluster", Endpoint: m.Endpoint, Region: "us-east-1", ForcePathStyle: true,
			CredentialsSecretRef: &v1alpha1.SecretReference{Name: "minio"}},
		Encryption:        &v1alpha1.Encryption{Recipients: []string{age.Recipient().String()}, IdentitySecretRef: &v1alpha1.SecretKeySelector{Name: "age", Key: "identity"}},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"coffer.dev/backups": "on"}},
	}})
	def := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"}, Spec: v1alpha1.BackupDefinitionSpec{
		StorageRef: v1alpha1.LocalObjectReference{Name: "minio"}, Schedule: "* * * * *", Retention: &v1alpha1.Retention{Hourly: 5},
		Targets: []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "127.0.0.1", Port: 5432, Database: src, User: "postgres"}}},
	}}
	create(t, c, def)

	stop := playKubelet(t, c, opNS, "shop", "db", urls)
	defer stop()

	t.Log("waiting for the scheduled backup (the schedule fires every minute)")
	var mirrored v1alpha1.Backup
	testutil.Eventually(t, 150*time.Second, "a Completed Backup object", func() bool {
		var list v1alpha1.BackupList
		c.List(ctx, &list, client.InNamespace("shop"))
		for _, b := range list.Items {
			if b.Status.Phase == v1alpha1.BackupCompleted && b.Labels[controller.LabelMirrored] == "true" {
				mirrored = b
				return true
			}
		}
		return false
	})
	if mirrored.Status.Size == "" || len(mirrored.Status.Targets) != 1 {
		t.Fatalf("mirrored Backup status: %+v", mirrored.Status)
	}

	dst := randomName("coffer_e2e_op_")
	t.Cleanup(func() { dropPG(dst) })
	create(t, c, &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "r1"},
		Spec: v1alpha1.RestoreSpec{BackupRef: &v1alpha1.LocalObjectReference{Name: mirrored.Name}, Target: "main", IntoDatabase: dst}})
	testutil.Eventually(t, 120*time.Second, "Restore Completed", func() bool {
		r := &v1alpha1.Restore{}
		c.Get(ctx, types.NamespacedName{Namespace: "shop", Name: "r1"}, r)
		if r.Status.Phase == v1alpha1.RestoreFailed {
			t.Fatalf("restore failed: %s", r.Status.Error)
		}
		return r.Status.Phase == v1alpha1.RestoreCompleted
	})
	if got, want := pgFingerprint(t, dst), pgFingerprint(t, src); got != want {
		t.Fatal("restored database differs from the original")
	}

	create(t, c, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "now"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "db"}}})
	testutil.Eventually(t, 120*time.Second, "on-demand Backup Completed", func() bool {
		b := &v1alpha1.Backup{}
		c.Get(ctx, types.NamespacedName{Namespace: "shop", Name: "now"}, b)
		return b.Status.Phase == v1alpha1.BackupCompleted && b.Status.BackupID != ""
	})

	if err := c.Delete(ctx, def); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "runner objects removed", func() bool {
		err := c.Get(ctx, types.NamespacedName{Namespace: opNS, Name: controller.RunnerName("shop", "db")}, &appsv1.StatefulSet{})
		return apierrors.IsNotFound(err)
	})
}

func startController(t *testing.T, ctx context.Context, env *testutil.Envtest, opNS string, urls *sync.Map) {
	t.Helper()
	ctrl.SetLogger(logr.Discard())
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		// Each test runs its own manager in this one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:      controller.CacheOptions(opNS), Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}})
	if err != nil {
		t.Fatal(err)
	}
	err = controller.Setup(ctx, mgr, controller.Config{
		Settings:     controller.Settings{OperatorNamespace: opNS, RunnerImage: "coffer-runner:e2e"},
		SyncInterval: 2 * time.Second,
		RunnerURL: func(_, ns, name string) string {
			if u, ok := urls.Load(ns + "/" + name); ok {
				return u.(string)
			}
			return "http://127.0.0.1:1"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go mgr.Start(ctx)
}

// playKubelet waits for the runner StatefulSet and config Secret, then runs
// coffer-runner as the pod would: the container's args (then extraArgs),
// with the config Secret's files where the pod mounts them and the API on a
// loopback port. stop kills it (SIGKILL).
func playKubelet(t *testing.T, c client.Client, opNS, ns, name string, urls *sync.Map, extraArgs ...string) (stop func()) {
	t.Helper()
	key := types.NamespacedName{Namespace: opNS, Name: controller.RunnerName(ns, name)}
	sts := &appsv1.StatefulSet{}
	sec := &corev1.Secret{}
	testutil.Eventually(t, 60*time.Second, "runner StatefulSet and config Secret", func() bool {
		return c.Get(context.Background(), key, sts) == nil && c.Get(context.Background(), key, sec) == nil
	})
	pod := sts.Spec.Template.Spec
	mountDir := t.TempDir()
	var mountPath string
	for _, vm := range pod.Containers[0].VolumeMounts {
		if vm.Name == "config" {
			mountPath = vm.MountPath
		}
	}
	for k, v := range sec.Data {
		if err := os.WriteFile(filepath.Join(mountDir, k), v, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for i := 0; i < len(pod.Containers[0].Args); i++ {
		a := strings.Replace(pod.Containers[0].Args[i], mountPath, mountDir, 1)
		if a == "--listen" || a == "--advertise-url" {
			v := fmt.Sprintf("127.0.0.1:%d", port)
			if a == "--advertise-url" {
				v = "http://" + v
			}
			args = append(args, a, v)
			i++
			continue
		}
		args = append(args, a)
	}
	cmd := exec.Command(runnerBin, append(args, extraArgs...)...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls.Store(ns+"/"+name, fmt.Sprintf("http://127.0.0.1:%d", port))
	// Report the pod ready, as kubelet and the StatefulSet controller would
	// once /readyz answers.
	testutil.Eventually(t, 30*time.Second, "runner /readyz", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = 1, 1, 1
	if err := c.Status().Update(context.Background(), sts); err != nil {
		t.Fatalf("reporting the runner ready: %v", err)
	}
	return func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("runner logs:\n%s", logs.String())
		}
	}
}

func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}
