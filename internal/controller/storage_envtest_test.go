package controller_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/naming"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// storageWith creates an S3 storage like storage() does, changed by edit.
func storageWith(t *testing.T, e *testutil.Envtest, name string, edit func(*v1alpha1.BackupStorageSpec)) {
	t.Helper()
	mustCreate(t, e, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name + "-s3"},
		StringData: map[string]string{"accessKeyID": "AK", "secretAccessKey": "SK"}})
	spec := v1alpha1.BackupStorageSpec{
		S3:                &v1alpha1.S3Storage{Bucket: "b", Endpoint: "http://127.0.0.1:9", CredentialsSecretRef: &v1alpha1.SecretReference{Name: name + "-s3"}},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"backups": "allowed"}},
	}
	edit(&spec)
	mustCreate(t, e, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name}, Spec: spec})
}

func getStorage(t *testing.T, e *testutil.Envtest, name string) *v1alpha1.BackupStorage {
	t.Helper()
	st := &v1alpha1.BackupStorage{}
	if err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: operatorNS, Name: name}, st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitFormat waits for status.format and the FormatSelected reason.
func waitFormat(t *testing.T, e *testutil.Envtest, name string, want v1alpha1.StorageFormat, reason string) *v1alpha1.BackupStorage {
	t.Helper()
	var st *v1alpha1.BackupStorage
	testutil.Eventually(t, 60*time.Second, "status.format "+string(want)+" ("+reason+") on "+name, func() bool {
		st = getStorage(t, e, name)
		c := meta.FindStatusCondition(st.Status.Conditions, controller.ConditionFormatSelected)
		return st.Status.Format == want && c != nil && c.Reason == reason && c.ObservedGeneration == st.Generation
	})
	return st
}

// keySecret returns the generated dedup key Secret of storage, or nil.
func keySecret(t *testing.T, e *testutil.Envtest, storage string) *corev1.Secret {
	t.Helper()
	sec := &corev1.Secret{}
	err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: operatorNS, Name: naming.DedupKeySecretName(storage)}, sec)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// runnerConfig waits for a definition's rendered config and parses it as
// the runner does.
func runnerConfig(t *testing.T, e *testutil.Envtest, ns, name string, ok func(*config.Config) bool) *config.Config {
	t.Helper()
	var c *config.Config
	testutil.Eventually(t, 60*time.Second, "runner config of "+ns+"/"+name, func() bool {
		sec := &corev1.Secret{}
		if e.Client.Get(context.Background(), runnerKey(ns, name), sec) != nil {
			return false
		}
		var err error
		c, err = config.Parse("config.yaml", sec.Data["config.yaml"])
		if err != nil {
			t.Fatalf("rendered config does not parse: %v", err)
		}
		return ok(c)
	})
	return c
}

// TestStorageNewIsChunked: a new storage writes format 2; the controller
// generates its dedup key once, owned and labelled, keeps it across
// reconciles, renders it into the runner config, and never shows it.
func TestStorageNewIsChunked(t *testing.T) {
	e := cluster(t)
	name := uniq("fmt-new-")
	storage(t, e, name)
	st := waitFormat(t, e, name, v1alpha1.StorageFormatChunked, controller.ReasonNewStorageDefault)
	sec := keySecret(t, e, name)
	if sec == nil {
		t.Fatalf("no dedup key Secret %s", naming.DedupKeySecretName(name))
	}
	key := string(sec.Data["key"])
	if b, err := hex.DecodeString(key); err != nil || len(b) != 32 {
		t.Fatalf("generated key is not 32 bytes in hex (%d characters, err %v)", len(key), err)
	}
	if sec.Labels[controller.LabelManagedBy] != "coffer-controller" || len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != st.UID {
		t.Fatalf("key Secret labels %v owners %v: want Coffer's label and the storage as owner", sec.Labels, sec.OwnerReferences)
	}
	if c := meta.FindStatusCondition(st.Status.Conditions, controller.ConditionDedupKeyReady); c == nil || c.Status != metav1.ConditionTrue ||
		!strings.Contains(c.Message, sec.Name) {
		t.Fatalf("DedupKeyReady %+v: want True naming %s", c, sec.Name)
	}

	// A spec change reconciles again: same key, same reason.
	st.Spec.Compression = &v1alpha1.Compression{Level: "better"}
	if err := e.Client.Update(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	waitFormat(t, e, name, v1alpha1.StorageFormatChunked, controller.ReasonNewStorageDefault)
	if again := keySecret(t, e, name); again == nil || string(again.Data["key"]) != key || again.UID != sec.UID {
		t.Fatal("the dedup key Secret was replaced on a second reconcile")
	}

	ns := appNamespace(t, e, true)
	definition(t, e, ns, "shop", name)
	c := runnerConfig(t, e, ns, "shop", func(c *config.Config) bool { return c.Storage.Spec.Compression != nil })
	ch := c.Storage.Spec.Chunked
	if ch == nil || ch.KeySecretRef == nil || c.Storage.Spec.Format != "" {
		t.Fatalf("rendered storage spec %+v: want spec.chunked with a keySecretRef, no spec.format", c.Storage.Spec)
	}
	if v, err := c.Secrets.Value(ch.KeySecretRef); err != nil || v != key {
		t.Fatalf("runner config's dedup key is not the generated one (err %v)", err)
	}
	if k, err := c.DedupKey(); err != nil || k == nil {
		t.Fatalf("runner would not write format 2: key %v err %v", k, err)
	}

	// The key is in no status and no Event.
	status, _ := json.Marshal(getStorage(t, e, name).Status)
	if strings.Contains(string(status), key) {
		t.Fatal("storage status holds the dedup key")
	}
	var evs eventsv1.EventList
	if err := e.Client.List(context.Background(), &evs, client.InNamespace(operatorNS)); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, ev := range evs.Items {
		if strings.Contains(ev.Note, key) {
			t.Fatal("an Event holds the dedup key")
		}
		seen = seen || (ev.Regarding.Name == name && ev.Reason == controller.ReasonNewStorageDefault && strings.Contains(ev.Note, "Chunked"))
	}
	if !seen {
		t.Error("no Event on the storage saying it writes Chunked, and why")
	}
}

// TestStorageStreamAndOwnKey: spec.format Stream generates no key and
// renders format 1; spec.chunked.keySecretRef is used as given.
func TestStorageStreamAndOwnKey(t *testing.T) {
	e := cluster(t)
	stream, own := uniq("fmt-stream-"), uniq("fmt-own-")
	storageWith(t, e, stream, func(s *v1alpha1.BackupStorageSpec) {
		s.Format = v1alpha1.StorageFormatStream
		s.Chunked = &v1alpha1.ChunkedFormat{} // Stream wins
	})
	mustCreate(t, e, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: own + "-mine"},
		StringData: map[string]string{"dedup": strings.Repeat("k", 40)}})
	storageWith(t, e, own, func(s *v1alpha1.BackupStorageSpec) {
		s.Chunked = &v1alpha1.ChunkedFormat{KeySecretRef: &v1alpha1.SecretKeySelector{Name: own + "-mine", Key: "dedup"}}
	})
	st := waitFormat(t, e, stream, v1alpha1.StorageFormatStream, controller.ReasonSpecFormat)
	if meta.FindStatusCondition(st.Status.Conditions, controller.ConditionDedupKeyReady) != nil {
		t.Error("a Stream storage has a DedupKeyReady condition")
	}
	st = waitFormat(t, e, own, v1alpha1.StorageFormatChunked, controller.ReasonSpecChunked)
	if c := meta.FindStatusCondition(st.Status.Conditions, controller.ConditionDedupKeyReady); c == nil || c.Reason != controller.ReasonKeyGiven {
		t.Errorf("DedupKeyReady %+v: want %s", c, controller.ReasonKeyGiven)
	}
	ns := appNamespace(t, e, true)
	definition(t, e, ns, "a", stream)
	definition(t, e, ns, "b", own)
	c := runnerConfig(t, e, ns, "a", func(*config.Config) bool { return true })
	if c.Storage.Spec.Chunked != nil || c.Storage.Spec.Format != "" {
		t.Fatalf("Stream storage rendered with chunked %+v format %q", c.Storage.Spec.Chunked, c.Storage.Spec.Format)
	}
	c = runnerConfig(t, e, ns, "b", func(*config.Config) bool { return true })
	if v, err := c.Secrets.Value(c.Storage.Spec.Chunked.KeySecretRef); err != nil || v != strings.Repeat("k", 40) {
		t.Fatalf("rendered key is not the storage's own (err %v)", err)
	}
	for _, n := range []string{stream, own} {
		if keySecret(t, e, n) != nil {
			t.Errorf("a dedup key was generated for %s", n)
		}
	}
}

// TestStorageForeignKeySecret: a Secret that is not Coffer's under the
// generated key's name is left alone and named in a condition; the
// definition waits, and says so.
func TestStorageForeignKeySecret(t *testing.T) {
	e := cluster(t)
	name := uniq("fmt-foreign-")
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: naming.DedupKeySecretName(name)},
		StringData: map[string]string{"key": strings.Repeat("f", 64)}}
	mustCreate(t, e, foreign)
	storage(t, e, name)
	waitFormat(t, e, name, v1alpha1.StorageFormatChunked, controller.ReasonNewStorageDefault)
	testutil.Eventually(t, 60*time.Second, "DedupKeyReady False naming the Secret", func() bool {
		c := meta.FindStatusCondition(getStorage(t, e, name).Status.Conditions, controller.ConditionDedupKeyReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonKeySecretConflict &&
			strings.Contains(c.Message, operatorNS+"/"+foreign.Name)
	})
	ns := appNamespace(t, e, true)
	definition(t, e, ns, "shop", name)
	testutil.Eventually(t, 60*time.Second, "definition Ready False DedupKeyNotReady", func() bool {
		c := readyCondition(t, e, ns, "shop")
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonDedupKeyNotReady && strings.Contains(c.Message, foreign.Name)
	})
	if a, _, _ := runnerObjectsExist(t, e, ns, "shop"); a {
		t.Fatal("a runner was rendered with a key Secret that is not Coffer's")
	}
	sec := keySecret(t, e, name)
	if string(sec.Data["key"]) != strings.Repeat("f", 64) || len(sec.OwnerReferences) != 0 || len(sec.Labels) != 0 {
		t.Fatalf("the foreign Secret was changed: labels %v owners %v", sec.Labels, sec.OwnerReferences)
	}
	// Removing it lets the controller generate its own, and the runner render.
	if err := e.Client.Delete(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "a generated key after the foreign Secret went", func() bool {
		s := keySecret(t, e, name)
		return s != nil && s.Labels[controller.LabelManagedBy] == "coffer-controller"
	})
	testutil.Eventually(t, 60*time.Second, "runner rendered", func() bool { a, _, _ := runnerObjectsExist(t, e, ns, "shop"); return a })
}

// TestStorageKeptOnUpgrade: storages an earlier controller served keep
// format 1 — one with conditions but no status.format, one whose
// definition already has a runner — and spec.format still switches them.
func TestStorageKeptOnUpgrade(t *testing.T) {
	e := cluster(t)
	ctx := context.Background()
	// Conditions without status.format: as recorded, then the format erased.
	cond := uniq("fmt-cond-")
	storageWith(t, e, cond, func(s *v1alpha1.BackupStorageSpec) { s.Format = v1alpha1.StorageFormatStream })
	st := waitFormat(t, e, cond, v1alpha1.StorageFormatStream, controller.ReasonSpecFormat)
	st.Spec.Format = ""
	if err := e.Client.Update(ctx, st); err != nil {
		t.Fatal(err)
	}
	st = waitFormat(t, e, cond, v1alpha1.StorageFormatStream, controller.ReasonFormatRecorded)
	before := st.DeepCopy()
	st.Status.Format = ""
	if err := e.Client.Status().Patch(ctx, st, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	waitFormat(t, e, cond, v1alpha1.StorageFormatStream, controller.ReasonKeptOnUpgrade)
	if keySecret(t, e, cond) != nil {
		t.Error("a dedup key was generated for a storage kept on format 1")
	}

	// A runner an earlier controller rendered for a definition using it.
	old := uniq("fmt-old-")
	ns := appNamespace(t, e, true)
	definition(t, e, ns, "shop", old)
	testutil.Eventually(t, 60*time.Second, "StorageNotFound", func() bool {
		c := readyCondition(t, e, ns, "shop")
		return c != nil && c.Reason == controller.ReasonStorageNotFound
	})
	// The selector an earlier controller rendered; no labels on the object
	// itself, so its creation does not bring the definition back (which
	// would remove it: the storage does not exist yet).
	labels := map[string]string{controller.LabelDefinitionNamespace: ns, controller.LabelDefinitionName: "shop",
		controller.LabelComponent: "runner", controller.LabelManagedBy: "coffer-controller"}
	mustCreate(t, e, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: controller.RunnerName(ns, "shop")},
		Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "coffer-runner:old"}}}}}})
	storage(t, e, old)
	st = waitFormat(t, e, old, v1alpha1.StorageFormatStream, controller.ReasonKeptOnUpgrade)
	if c := meta.FindStatusCondition(st.Status.Conditions, controller.ConditionFormatSelected); !strings.Contains(c.Message, ns+"/shop") {
		t.Errorf("FormatSelected message %q does not name the definition whose runner shows the storage in use", c.Message)
	}
	runnerConfig(t, e, ns, "shop", func(c *config.Config) bool { return c.Storage.Spec.Chunked == nil })

	// spec.format switches it; removing spec.format later keeps Chunked.
	st.Spec.Format = v1alpha1.StorageFormatChunked
	if err := e.Client.Update(ctx, st); err != nil {
		t.Fatal(err)
	}
	waitFormat(t, e, old, v1alpha1.StorageFormatChunked, controller.ReasonSpecFormat)
	runnerConfig(t, e, ns, "shop", func(c *config.Config) bool { return c.Storage.Spec.Chunked != nil })
	st = getStorage(t, e, old)
	st.Spec.Format = ""
	if err := e.Client.Update(ctx, st); err != nil {
		t.Fatal(err)
	}
	waitFormat(t, e, old, v1alpha1.StorageFormatChunked, controller.ReasonFormatRecorded)
}
