package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOperatorPinsBackups: a Backup with spec.pinned=true is taken pinned
// by the runner; unpinning it in Kubernetes unpins it at the runner; pinning
// a mirrored Backup pins the runner's backup; and a pin set through the
// runner's API is shown, not undone. Envtest, this test playing kubelet for
// a real runner, MinIO and PostgreSQL.
func TestOperatorPinsBackups(t *testing.T) {
	env := testutil.StartEnvtest(t)
	src := pgDB(t, false)
	psql(t, src, "CREATE TABLE t AS SELECT 1 AS x")
	m := testutil.StartMinIO(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := env.Client
	const opNS = "coffer-system"
	urls := &sync.Map{}
	startController(t, ctx, env, opNS, urls)
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opNS}})
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"coffer.dev/backups": "on"}}})
	create(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "minio"},
		StringData: map[string]string{"accessKeyID": m.AccessKey, "secretAccessKey": m.SecretKey}})
	create(t, c, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "minio"}, Spec: v1alpha1.BackupStorageSpec{
		S3: &v1alpha1.S3Storage{Bucket: m.Bucket, Prefix: "cluster", Endpoint: m.Endpoint, Region: "us-east-1", ForcePathStyle: true,
			CredentialsSecretRef: &v1alpha1.SecretReference{Name: "minio"}},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"coffer.dev/backups": "on"}},
	}})
	create(t, c, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"}, Spec: v1alpha1.BackupDefinitionSpec{
		StorageRef: v1alpha1.LocalObjectReference{Name: "minio"}, // no schedule: on-demand backups only
		Targets:    []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "127.0.0.1", Port: 5432, Database: src, User: "postgres"}}},
	}})
	stop := playKubelet(t, c, opNS, "shop", "db", urls)
	defer stop()
	rn := runnerAPI(t, c, opNS, urls)

	// 1. Taken pinned.
	create(t, c, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "before-migration"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "db"}, Pinned: true}})
	user := getBackup(t, c, "before-migration")
	testutil.Eventually(t, 120*time.Second, "the pinned Backup Completed", func() bool {
		user = getBackup(t, c, "before-migration")
		return user.Status.Phase == v1alpha1.BackupCompleted
	})
	id := user.Status.BackupID
	if got := rn.labels(id); !slices.Equal(got, []string{"manual", "pinned"}) {
		t.Fatalf("the runner's backup %s holds %v, want [manual pinned]", id, got)
	}
	testutil.Eventually(t, 30*time.Second, "status.labels with pinned", func() bool {
		return slices.Contains(getBackup(t, c, "before-migration").Status.Labels, "pinned")
	})

	// 2. Unpinned in Kubernetes, unpinned at the runner.
	setPinned(t, c, "before-migration", false)
	testutil.Eventually(t, 30*time.Second, "the runner's backup unpinned", func() bool { return !slices.Contains(rn.labels(id), "pinned") })
	testutil.Eventually(t, 30*time.Second, "status and condition of the unpinned Backup", func() bool {
		b := getBackup(t, c, "before-migration")
		cond := meta.FindStatusCondition(b.Status.Conditions, controller.ConditionPinForwarded)
		return !slices.Contains(b.Status.Labels, "pinned") && cond != nil && cond.Reason == controller.ReasonUnpinned && cond.ObservedGeneration == b.Generation
	})

	// 3. A backup taken through the runner's API is mirrored unpinned;
	// pinning the mirrored Backup pins it.
	other := rn.backup()
	var mirrored v1alpha1.Backup
	testutil.Eventually(t, 60*time.Second, "the mirrored Backup", func() bool {
		var list v1alpha1.BackupList
		c.List(ctx, &list, client.InNamespace("shop"), client.MatchingLabels{controller.LabelMirrored: "true"})
		for _, b := range list.Items {
			if b.Status.BackupID == other && b.Status.Phase == v1alpha1.BackupCompleted {
				mirrored = b
				return true
			}
		}
		return false
	})
	if mirrored.Spec.Pinned {
		t.Fatal("an unpinned backup was mirrored with spec.pinned")
	}
	setPinned(t, c, mirrored.Name, true)
	testutil.Eventually(t, 30*time.Second, "the mirrored Backup's runner backup pinned", func() bool { return slices.Contains(rn.labels(other), "pinned") })

	// 4. Pinned through the runner's API while spec.pinned is false: shown
	// in status, not undone.
	rn.call(http.MethodPut, "/v1/backups/"+id+"/labels/pinned", nil)
	testutil.Eventually(t, 30*time.Second, "status.labels of the user's Backup with pinned again", func() bool {
		return slices.Contains(getBackup(t, c, "before-migration").Status.Labels, "pinned")
	})
	time.Sleep(3 * 2 * time.Second) // three catalog syncs
	if !slices.Contains(rn.labels(id), "pinned") {
		t.Fatal("the controller undid a pin set through the runner's API")
	}
}

func getBackup(t *testing.T, c client.Client, name string) *v1alpha1.Backup {
	t.Helper()
	b := &v1alpha1.Backup{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "shop", Name: name}, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func setPinned(t *testing.T, c client.Client, name string, pinned bool) {
	t.Helper()
	b := getBackup(t, c, name)
	patch := client.MergeFrom(b.DeepCopy())
	b.Spec.Pinned = pinned
	if err := c.Patch(context.Background(), b, patch); err != nil {
		t.Fatal(err)
	}
}

// runnerClient calls the runner the test plays kubelet for, with the token
// from its rendered config Secret.
type runnerClient struct {
	t           *testing.T
	base, token string
}

func runnerAPI(t *testing.T, c client.Client, opNS string, urls *sync.Map) *runnerClient {
	t.Helper()
	sec := &corev1.Secret{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: opNS, Name: controller.RunnerName("shop", "db")}, sec); err != nil {
		t.Fatal(err)
	}
	base, _ := urls.Load("shop/db")
	return &runnerClient{t: t, base: base.(string), token: string(sec.Data["api-token"])}
}

type runnerRecord struct {
	ID     string   `json:"id"`
	Status string   `json:"status"`
	Labels []string `json:"labels"`
}

func (r *runnerClient) call(method, path string, body any) runnerRecord {
	r.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, _ := http.NewRequest(method, r.base+path, &buf)
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec runnerRecord
	json.NewDecoder(resp.Body).Decode(&rec)
	if resp.StatusCode >= 300 {
		r.t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
	return rec
}

func (r *runnerClient) labels(id string) []string {
	return r.call(http.MethodGet, "/v1/backups/"+id, nil).Labels
}

// backup takes an on-demand backup through the runner's API and waits for it.
func (r *runnerClient) backup() string {
	r.t.Helper()
	rec := r.call(http.MethodPost, "/v1/backups", nil)
	testutil.Eventually(r.t, 120*time.Second, "backup "+rec.ID, func() bool {
		rec = r.call(http.MethodGet, "/v1/backups/"+rec.ID, nil)
		return rec.Status == "Completed" || rec.Status == "Failed"
	})
	if rec.Status != "Completed" {
		r.t.Fatalf("backup %s failed", rec.ID)
	}
	return rec.ID
}
