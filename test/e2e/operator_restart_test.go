package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOperatorBackupFailsAfterRunnerRestart: an on-demand Backup whose
// runner is killed mid-backup (no manifest, no failure record) becomes
// Failed, saying why, once the restarted runner answers that it does not
// know it, instead of staying Running forever.
func TestOperatorBackupFailsAfterRunnerRestart(t *testing.T) {
	env := testutil.StartEnvtest(t)
	src := pgDB(t, false)
	bigTable(t, src, 1500000)
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
		StorageRef: v1alpha1.LocalObjectReference{Name: "minio"},
		Targets:    []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "127.0.0.1", Port: 5432, Database: src, User: "postgres"}}},
	}})

	kill := playKubelet(t, c, opNS, "shop", "db", urls, "--lease-ttl", "4s")
	defer func() { kill() }()
	create(t, c, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "now"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "db"}}})
	key := types.NamespacedName{Namespace: "shop", Name: "now"}
	b := &v1alpha1.Backup{}
	testutil.Eventually(t, 60*time.Second, "the Backup Running", func() bool {
		c.Get(ctx, key, b)
		return b.Status.Phase == v1alpha1.BackupRunning && b.Status.BackupID != ""
	})
	testutil.Eventually(t, 60*time.Second, "pg_dump copying", func() bool {
		return psql(t, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND application_name = 'pg_dump' AND query ILIKE 'COPY%%'", src)) != "0"
	})
	kill() // kill -9: the pod is gone with its backup, recording nothing
	kill = playKubelet(t, c, opNS, "shop", "db", urls, "--lease-ttl", "4s")

	testutil.Eventually(t, 60*time.Second, "the Backup Failed", func() bool {
		c.Get(ctx, key, b)
		return b.Status.Phase == v1alpha1.BackupFailed
	})
	if !strings.Contains(b.Status.Error, "no record of backup "+b.Status.BackupID) || b.Status.EndTime == nil {
		t.Fatalf("Backup after its runner restarted: %+v", b.Status)
	}
}
