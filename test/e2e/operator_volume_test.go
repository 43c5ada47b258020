package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOperatorVolumeBackup: a filesystem target naming a PVC is backed up by
// a reader pod the controller starts in the app namespace (this test plays
// kubelet for it: the pod's command runs against a local directory), the
// storage credentials never leave the operator namespace, and the stored
// tar restores to the same tree.
func TestOperatorVolumeBackup(t *testing.T) {
	env := testutil.StartEnvtest(t)
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
		S3: &v1alpha1.S3Storage{Bucket: m.Bucket, Endpoint: m.Endpoint, Region: "us-east-1", ForcePathStyle: true,
			CredentialsSecretRef: &v1alpha1.SecretReference{Name: "minio"}},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"coffer.dev/backups": "on"}},
	}})
	create(t, c, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "files"}, Spec: v1alpha1.BackupDefinitionSpec{
		StorageRef: v1alpha1.LocalObjectReference{Name: "minio"},
		Targets: []v1alpha1.Target{{Name: "data", Filesystem: &v1alpha1.FilesystemTarget{Path: "/data", PersistentVolumeClaim: "data-pvc",
			Excludes: []string{"cache"}}}},
	}})
	stop := playKubelet(t, c, opNS, "shop", "files", urls)
	defer stop()

	volume := t.TempDir() // what the claim holds
	writeTree(t, volume, map[string]string{"a.txt": "alpha", "dir/b.bin": "\x00\x01\x02 beta", "dir/deep/c.txt": "gamma ✓", "cache/junk": "skip me"})
	restoredVolume := t.TempDir() // the claim a writer pod restores into
	readers := playReaderPods(t, c, "shop", volume, restoredVolume)
	defer readers()

	create(t, c, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "vol"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "files"}}})
	var b v1alpha1.Backup
	testutil.Eventually(t, 120*time.Second, "volume Backup Completed", func() bool {
		c.Get(ctx, types.NamespacedName{Namespace: "shop", Name: "vol"}, &b)
		if b.Status.Phase == v1alpha1.BackupFailed {
			t.Fatalf("volume backup failed: %s", b.Status.Error)
		}
		return b.Status.Phase == v1alpha1.BackupCompleted
	})
	testutil.Eventually(t, 30*time.Second, "reader pod removed", func() bool {
		var pods corev1.PodList
		c.List(ctx, &pods, client.InNamespace("shop"), client.MatchingLabels{controller.LabelReader: "files"})
		return len(pods.Items) == 0
	})

	// Restore with the runner's own config, outside the cluster.
	sec := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: opNS, Name: controller.RunnerName("shop", "files")}, sec); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, sec.Data["config.yaml"], 0o600)
	dst := filepath.Join(t.TempDir(), "restored")
	mustRun(t, "restore", "-f", cfg, "--backup", b.Status.BackupID, "--target", "data", "--into-path", dst)
	for name, want := range map[string]string{"a.txt": "alpha", "dir/b.bin": "\x00\x01\x02 beta", "dir/deep/c.txt": "gamma ✓"} {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(got) != want {
			t.Errorf("%s restored as %q (%v), want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "cache")); err == nil {
		t.Error("the excluded directory was backed up")
	}
	// The runner counted the tar the reader pod pushed, for restore tests.
	obj, err := m.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String("shop/files/" + b.Status.BackupID + "/manifest.json")})
	if err != nil {
		t.Fatal(err)
	}
	var mf manifest.Manifest
	err = json.NewDecoder(obj.Body).Decode(&mf)
	obj.Body.Close()
	want := manifest.Contents{Files: 3, Directories: 2, Bytes: int64(len("alpha") + len("\x00\x01\x02 beta") + len("gamma ✓"))}
	if err != nil || mf.Targets[0].Contents == nil || *mf.Targets[0].Contents != want {
		t.Errorf("the volume backup's recorded contents: %+v (%v), want %+v", mf.Targets[0].Contents, err, want)
	}

	// Restore through the cluster: a writer pod extracts into the claim.
	create(t, c, &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "vol-back"},
		Spec: v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: "files"}, Target: "data"}})
	testutil.Eventually(t, 120*time.Second, "volume Restore Completed", func() bool {
		rs := &v1alpha1.Restore{}
		c.Get(ctx, types.NamespacedName{Namespace: "shop", Name: "vol-back"}, rs)
		if rs.Status.Phase == v1alpha1.RestoreFailed {
			t.Fatalf("volume restore failed: %s", rs.Status.Error)
		}
		return rs.Status.Phase == v1alpha1.RestoreCompleted
	})
	for name, want := range map[string]string{"a.txt": "alpha", "dir/b.bin": "\x00\x01\x02 beta", "dir/deep/c.txt": "gamma ✓"} {
		got, err := os.ReadFile(filepath.Join(restoredVolume, name))
		if err != nil || string(got) != want {
			t.Errorf("writer pod restored %s as %q (%v), want %q", name, got, err, want)
		}
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// playReaderPods runs each reader and writer pod the controller creates:
// its args with the claim's mount path mapped to volume (readers) or
// restored (writers), and the Secret's URL in a file.
func playReaderPods(t *testing.T, c client.Client, ns, volume, restored string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := map[string]bool{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			var pods corev1.PodList
			c.List(ctx, &pods, client.InNamespace(ns), client.HasLabels{controller.LabelReader})
			for _, pod := range pods.Items {
				if started[pod.Name] {
					continue
				}
				started[pod.Name] = true
				dir := volume
				if pod.Spec.Containers[0].Args[0] == "pull-dir" {
					dir = restored
				}
				runReader(t, c, pod, dir)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func runReader(t *testing.T, c client.Client, pod corev1.Pod, volume string) {
	sec := &corev1.Secret{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, sec); err != nil {
		t.Errorf("reader Secret: %v", err)
		return
	}
	if strings.Contains(strings.Join(pod.Spec.Containers[0].Args, " "), string(sec.Data["url"])) {
		t.Error("the push URL (a secret) is in the reader pod's arguments")
	}
	urlFile := filepath.Join(t.TempDir(), "url")
	os.WriteFile(urlFile, sec.Data["url"], 0o400)
	var mountPath string
	for _, vm := range pod.Spec.Containers[0].VolumeMounts {
		if vm.Name == "volume" {
			mountPath = vm.MountPath
		}
	}
	var args []string
	for _, a := range pod.Spec.Containers[0].Args {
		switch {
		case a == mountPath:
			a = volume
		case strings.HasPrefix(a, "/var/run/coffer-push/"):
			a = urlFile
		}
		args = append(args, a)
	}
	out, err := exec.Command(runnerBin, args...).CombinedOutput()
	if err != nil {
		t.Errorf("reader pod %s: %v\n%s", pod.Name, err, out)
	}
}
