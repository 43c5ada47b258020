//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
)

// volumeNamespace is an app namespace at the given Pod Security level with a
// claim bound to a hostPath volume holding files of several owners, mounted
// by a running application pod, and the controller allowed to start readers.
func volumeNamespace(t *testing.T, level string) (ns, dir string) {
	t.Helper()
	ns = appNamespace(t, "vol-"+randomSuffix(), map[string]string{"pod-security.kubernetes.io/enforce": level})
	dir = filepath.Join(t.TempDir(), "pv")
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, owner := range map[string]int{"a.txt": 0, "private/secret.txt": 1234} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("content of "+name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, owner, owner); err != nil {
			t.Fatal(err)
		}
	}
	pv := "pv-" + ns
	create(t, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pv}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		StorageClassName:              "",
		PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
	}})
	t.Cleanup(func() {
		_ = suite.client.Delete(context.Background(), &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pv}})
	})
	create(t, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		StorageClassName: new(string),
		VolumeName:       pv,
		Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}})
	// A pull Secret of the namespace, named in spec.runner.imagePullSecrets.
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
		StringData: map[string]string{corev1.DockerConfigJsonKey: `{"auths":{"registry.invalid":{"auth":"dTpw"}}}`}})
	create(t, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "coffer-volume-readers"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "coffer-volume-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: operatorNS, Name: "coffer-controller"}}})
	// The application holding the claim: the pause image, restricted-clean.
	create(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: new(true), RunAsUser: new(int64(65535)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "app", Image: "coffer.local/pause:1", ImagePullPolicy: corev1.PullNever,
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: new(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
	}})
	pod := &corev1.Pod{}
	poll(t, "the application pod Running", 2*time.Minute, func() bool {
		return get(pod, ns, "app") == nil && pod.Status.Phase == corev1.PodRunning
	}, func() string { out, _ := kubectl(context.Background(), "-n", ns, "describe", "pod", "app"); return out })
	return ns, dir
}

func volumeDefinition(t *testing.T, ns, storage string) {
	t.Helper()
	create(t, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files"}, Spec: v1alpha1.BackupDefinitionSpec{
		StorageRef: v1alpha1.LocalObjectReference{Name: storage},
		Schedule:   "0 0 1 1 *",
		Runner: &v1alpha1.RunnerSettings{DrainTimeout: &metav1.Duration{},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}},
		Targets: []v1alpha1.Target{{Name: "data", Filesystem: &v1alpha1.FilesystemTarget{Path: "/data", PersistentVolumeClaim: "data"}}},
	}})
}

// A PVC in a namespace enforcing Pod Security "baseline", held by a running
// application: a real reader pod is admitted on the application's node,
// reads files of every owner, and the Backup completes. A restore into the
// changed, non-empty volume is refused saying so; a clean one, through a
// real writer pod, makes the tree what it was. Both pods carry the
// definition's imagePullSecrets.
func TestVolumeBackupAndRestoreUnderBaseline(t *testing.T) {
	st := newStorage(t)
	ns, dir := volumeNamespace(t, "baseline")
	volumeDefinition(t, ns, st.name)
	pods := recordVolumePods(t, ns)
	runnerReady(t, ns, "files", 5*time.Minute)
	original := tree(t, dir)
	b := backupNow(t, ns, "files", "vol", 5*time.Minute)
	if b.Status.Phase != v1alpha1.BackupCompleted || len(b.Status.Targets) != 1 || b.Status.Targets[0].SizeBytes <= 0 {
		t.Fatalf("volume Backup %s: %s (%+v)", b.Status.Phase, b.Status.Error, b.Status.Targets)
	}

	// The application changes the volume.
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "private", "secret.txt")); err != nil {
		t.Fatal(err)
	}
	spec := v1alpha1.RestoreSpec{BackupRef: &v1alpha1.LocalObjectReference{Name: "vol"}, Target: "data"}
	r := restoreNow(t, ns, "not-clean", spec, 5*time.Minute)
	if r.Status.Phase != v1alpha1.RestoreFailed || !strings.Contains(r.Status.Error, "directory") ||
		!strings.Contains(r.Status.Error, "not empty") || strings.Contains(r.Status.Error, "database") {
		t.Fatalf("restore into the non-empty volume: %s %q, want Failed saying the directory is not empty", r.Status.Phase, r.Status.Error)
	}
	spec.Clean = true
	r = restoreNow(t, ns, "clean", spec, 5*time.Minute)
	if r.Status.Phase != v1alpha1.RestoreCompleted {
		t.Fatalf("clean restore: %s %s", r.Status.Phase, r.Status.Error)
	}
	if got := tree(t, dir); got != original {
		t.Fatalf("restored tree differs:\n%s\nwant\n%s", got, original)
	}

	app := &corev1.Pod{}
	if err := get(app, ns, "app"); err != nil || app.Status.Phase != corev1.PodRunning {
		t.Fatalf("the application pod after the restore: %v %s", err, app.Status.Phase)
	}
	roles := map[string]bool{}
	for _, p := range pods() {
		role := strings.Split(p.Name, "-")[1] // coffer-<reader|writer>-...
		if p.Spec.NodeName != "" {
			roles[role] = true
			if p.Spec.NodeName != app.Spec.NodeName {
				t.Errorf("%s pod %s on node %s, the application on %s", role, p.Name, p.Spec.NodeName, app.Spec.NodeName)
			}
		}
		if len(p.Spec.ImagePullSecrets) != 1 || p.Spec.ImagePullSecrets[0].Name != "regcred" {
			t.Errorf("%s pod %s pulls with %v, want regcred", role, p.Name, p.Spec.ImagePullSecrets)
		}
	}
	if !roles["reader"] || !roles["writer"] {
		t.Errorf("scheduled volume pods seen: %v, want a reader and a writer", roles)
	}
}

// tree describes every entry under dir: path, type and mode, owner, and
// the content of files.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d", strings.TrimPrefix(path, dir), info.Mode(), st.Uid, st.Gid)
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %q", b)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// Under "restricted" the reader (root) is refused: the definition says so in
// a condition and an Event, and no Secret of the reader stays behind.
func TestVolumeReaderRefusedUnderRestricted(t *testing.T) {
	st := newStorage(t)
	ns, _ := volumeNamespace(t, "restricted")
	volumeDefinition(t, ns, st.name)
	runnerReady(t, ns, "files", 5*time.Minute)
	create(t, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vol"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "files"}}})
	def := &v1alpha1.BackupDefinition{}
	poll(t, "VolumeReadersAdmitted=False", 3*time.Minute, func() bool {
		c := meta.FindStatusCondition(def.Status.Conditions, controller.ConditionVolumeReaders)
		return get(def, ns, "files") == nil && c != nil && c.Status == metav1.ConditionFalse && c.Reason == "PodForbidden"
	}, func() string { return fmt.Sprintf("conditions: %+v", def.Status.Conditions) })
	poll(t, "a Warning Event on the definition", time.Minute, func() bool {
		out, err := kubectl(context.Background(), "-n", ns, "get", "events", "--field-selector", "involvedObject.kind=BackupDefinition,reason=PodForbidden,type=Warning", "-o", "name")
		return err == nil && out != ""
	})
	// The Backup fails now, saying why, not after the runner's 15-minute
	// wait for a reader; the definition's Events tell the story.
	b := waitBackup(t, ns, "vol", 2*time.Minute)
	if b.Status.Phase != v1alpha1.BackupFailed || !strings.Contains(b.Status.Error, "was refused") || !strings.Contains(b.Status.Error, "baseline") {
		t.Errorf("Backup under restricted: %s %q, want Failed with the refusal", b.Status.Phase, b.Status.Error)
	}
	poll(t, "a BackupFailed Event on the definition", time.Minute, func() bool {
		return strings.Contains(strings.Join(eventsOf(ns, "BackupDefinition", "files"), "\n"), controller.ReasonBackupFailed)
	}, func() string { return strings.Join(eventsOf(ns, "BackupDefinition", "files"), "\n") })
	var secrets corev1.SecretList
	if err := suite.client.List(context.Background(), &secrets, client.InNamespace(ns), client.HasLabels{controller.LabelReader}); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 0 {
		t.Errorf("the refused reader's Secret %s stayed behind", secrets.Items[0].Name)
	}
}
