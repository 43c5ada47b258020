//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
)

// record watches the objects list holds in namespace (narrowed by opts)
// from now until the test ends, and returns a func that gives every
// version seen so far, in order. A watch, not polling: no version is
// missed however briefly it lived.
func record[T client.Object](t *testing.T, list client.ObjectList, namespace string, opts ...client.ListOption) func() []T {
	t.Helper()
	wc, err := client.NewWithWatch(suite.cfg, client.Options{Scheme: suite.scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, list, append([]client.ListOption{client.InNamespace(namespace)}, opts...)...)
	if err != nil {
		cancel()
		t.Fatalf("watch %T in %s: %v", list, namespace, err)
	}
	var mu sync.Mutex
	var seen []T
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if obj, ok := ev.Object.(T); ok {
				mu.Lock()
				seen = append(seen, obj)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.Stop(); cancel(); <-done })
	return func() []T {
		mu.Lock()
		defer mu.Unlock()
		return append([]T(nil), seen...)
	}
}

// recordBackups records every version of the Backups of namespace.
func recordBackups(t *testing.T, namespace string) func() []*v1alpha1.Backup {
	return record[*v1alpha1.Backup](t, &v1alpha1.BackupList{}, namespace)
}

// forwardedOnce fails the test if any version of Backup name said the
// runner had not taken it (Forwarded not True) while it had a backup id:
// the mark of a second forward of one Backup.
func forwardedOnce(t *testing.T, versions []*v1alpha1.Backup, name string) {
	t.Helper()
	n := 0
	for _, b := range versions {
		if b.Name != name {
			continue
		}
		n++
		c := meta.FindStatusCondition(b.Status.Conditions, controller.ConditionForwarded)
		if b.Status.BackupID != "" && (c == nil || c.Status != metav1.ConditionTrue) {
			t.Errorf("Backup %s had backup id %s but said %+v (phase %s): it was forwarded again", name, b.Status.BackupID, c, b.Status.Phase)
			return
		}
	}
	if n == 0 {
		t.Errorf("no version of Backup %s was seen", name)
	}
}

// restoreNow creates a Restore and waits for it to end.
func restoreNow(t *testing.T, namespace, name string, spec v1alpha1.RestoreSpec, timeout time.Duration) *v1alpha1.Restore {
	t.Helper()
	create(t, &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec})
	r := &v1alpha1.Restore{}
	poll(t, "Restore "+namespace+"/"+name+" to end", timeout, func() bool {
		return get(r, namespace, name) == nil && (r.Status.Phase == v1alpha1.RestoreCompleted || r.Status.Phase == v1alpha1.RestoreFailed)
	}, func() string { return fmt.Sprintf("status: %+v", r.Status) })
	return r
}

// recordVolumePods records every version of the volume reader and writer
// pods of namespace.
func recordVolumePods(t *testing.T, namespace string) func() []*corev1.Pod {
	return record[*corev1.Pod](t, &corev1.PodList{}, namespace, client.HasLabels{controller.LabelReader})
}

// eventsOf lists the Events of an object, "reason: message" each.
func eventsOf(namespace, kind, name string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var list corev1.EventList
	if err := suite.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return []string{"listing events: " + err.Error()}
	}
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.Kind == kind && ev.InvolvedObject.Name == name {
			out = append(out, ev.Type+" "+ev.Reason+": "+ev.Message)
		}
	}
	return out
}
