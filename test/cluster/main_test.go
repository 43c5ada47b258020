//go:build cluster

// Package cluster is the suite that runs on a real single-node Kubernetes
// (hack/cluster.sh): a real kubelet, containerd and runc, the images
// hack/images.sh built, Coffer installed from config/default as the README
// says. It proves what envtest cannot: pods admitted and running, names,
// restarts, Pod Security. Run it with `make e2e`, which starts the cluster,
// imports the images and sets COFFER_KUBECONFIG. Without a cluster the suite
// is skipped, and fails when CI=true.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

const operatorNS = "coffer-system"

// suite is the cluster every test talks to.
var suite struct {
	kubeconfig string
	cfg        *rest.Config
	client     client.Client
	scheme     *runtime.Scheme
	nodeIP     string
}

func TestMain(m *testing.M) {
	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster suite:", err)
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "the cluster is required when CI=true (make e2e starts it)")
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "skipping the cluster suite (make e2e starts a cluster and runs it)")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func setUp() error {
	suite.kubeconfig = os.Getenv("COFFER_KUBECONFIG")
	if suite.kubeconfig == "" {
		return fmt.Errorf("COFFER_KUBECONFIG is not set")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", suite.kubeconfig)
	if err != nil {
		return err
	}
	if suite.scheme, err = testutil.NewScheme(); err != nil {
		return err
	}
	suite.cfg = cfg
	if suite.client, err = client.New(cfg, client.Options{Scheme: suite.scheme}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var nodes corev1.NodeList
	if err := suite.client.List(ctx, &nodes); err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes.Items) != 1 {
		return fmt.Errorf("want one node, have %d", len(nodes.Items))
	}
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			suite.nodeIP = a.Address
		}
	}
	if suite.nodeIP == "" {
		return fmt.Errorf("node %s has no InternalIP", nodes.Items[0].Name)
	}
	// Install Coffer the way the README tells users: kustomize, server-side apply.
	out, err := kubectl(ctx, "apply", "--server-side", "--force-conflicts", "-k", filepath.Join(testutil.RepoRoot(), "test", "cluster", "testdata", "install"))
	if err != nil {
		return fmt.Errorf("install Coffer: %w\n%s", err, out)
	}
	// A controller left from an earlier run on a reused cluster runs the old image: restart it.
	if out, err := kubectl(ctx, "-n", operatorNS, "rollout", "restart", "deployment/coffer-controller"); err != nil {
		return fmt.Errorf("restart the controller: %w\n%s", err, out)
	}
	if out, err := kubectl(ctx, "-n", operatorNS, "rollout", "status", "deployment/coffer-controller", "--timeout=5m"); err != nil {
		desc, _ := kubectl(ctx, "-n", operatorNS, "describe", "pods")
		return fmt.Errorf("the controller did not become available: %w\n%s\n%s", err, out, desc)
	}
	return nil
}

func kubectlPath() string { return filepath.Join(testutil.RepoRoot(), "bin", "kubectl") }

func kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, kubectlPath(), append([]string{"--kubeconfig", suite.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := suite.client.Create(ctx, obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// poll calls cond every second until it is true, or fails the test after timeout,
// printing what describe says.
func poll(t *testing.T, what string, timeout time.Duration, cond func() bool, describe ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, d := range describe {
				msg += "\n" + d()
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(time.Second)
	}
}

func get(obj client.Object, namespace, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return suite.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, obj)
}

// appNamespace creates a namespace with the label the test storages admit,
// deleted when the test ends.
func appNamespace(t *testing.T, name string, labels map[string]string) string {
	t.Helper()
	if labels == nil {
		labels = map[string]string{}
	}
	labels["coffer.dev/test"] = "cluster"
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	t.Cleanup(func() {
		if t.Failed() {
			dump(t, name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// Definitions first, so the controller removes their runners from coffer-system.
		_ = suite.client.DeleteAllOf(ctx, &v1alpha1.BackupDefinition{}, client.InNamespace(name))
		_ = suite.client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	return name
}

// dump logs what a failed test's namespaces hold, and the controller's log.
func dump(t *testing.T, namespace string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"-n", namespace, "get", "backupdefinitions,backups,restores,pods,events", "-o", "wide"},
		{"-n", namespace, "get", "backupdefinitions,backups,restores", "-o", "yaml"},
		{"-n", operatorNS, "get", "statefulsets,pods,events", "-o", "wide"},
		{"-n", operatorNS, "logs", "deployment/coffer-controller", "--tail=60"},
	} {
		out, _ := kubectl(ctx, args...)
		t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
	}
}

// expose makes a server on this machine reachable from pods as
// <name>.<namespace>.svc:<port>: a TCP forwarder on the node IP, and a Service
// without selector whose EndpointSlice points at it (REAL-CLUSTER.md).
func expose(t *testing.T, namespace, name, target string, port int32) string {
	t.Helper()
	host, _ := exposeCuttable(t, namespace, name, target, port)
	return host
}

// exposeCuttable is expose, and the forwarder, which can cut the way
// (close its port and every connection) and open it again.
func exposeCuttable(t *testing.T, namespace, name, target string, port int32) (string, *forwarder) {
	t.Helper()
	f := &forwarder{target: target, conns: map[net.Conn]bool{}}
	if err := f.listen(net.JoinHostPort(suite.nodeIP, "0")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.cut)
	_, p, _ := net.SplitHostPort(f.addr)
	fwdPort, _ := strconv.Atoi(p)
	create(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "tcp", Port: port, TargetPort: intstr.FromInt32(int32(fwdPort)), Protocol: corev1.ProtocolTCP}}}})
	create(t, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-host",
		Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{suite.nodeIP}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("tcp"), Port: ptr.To(int32(fwdPort)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	})
	if namespace == operatorNS {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = suite.client.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}})
			_ = suite.client.Delete(ctx, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-host"}})
		})
	}
	return fmt.Sprintf("%s.%s.svc", name, namespace), f
}

// forwarder copies TCP connections on addr to target.
type forwarder struct {
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func (f *forwarder) listen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.l, f.addr = l, l.Addr().String()
	f.mu.Unlock()
	f.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	})
	return nil
}

func (f *forwarder) serve(c net.Conn) {
	u, err := net.Dial("tcp", f.target)
	if err != nil {
		_ = c.Close()
		return
	}
	f.mu.Lock()
	f.conns[c], f.conns[u] = true, true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		delete(f.conns, u)
		f.mu.Unlock()
		_ = c.Close()
		_ = u.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
	<-done
}

// cut closes the port and every connection through it.
func (f *forwarder) cut() {
	f.mu.Lock()
	if f.l != nil {
		_ = f.l.Close()
		f.l = nil
	}
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// reopen listens on the same port again after cut.
func (f *forwarder) reopen() error { return f.listen(f.addr) }

// storage is a BackupStorage in the operator namespace over a MinIO of the
// test's own, reached by the runner through a Service, with age encryption;
// it admits the namespaces the tests label. newStorage leaves spec.format
// to the controller's default (Chunked, format 2, for a new storage);
// tests that restore one object by hand (age -d | zstd -d) need format 1
// and ask for it with newStreamStorage.
type storage struct {
	name     string
	minio    *testutil.MinIO
	identity *age.X25519Identity
	// way is the forwarder between the runner and MinIO.
	way *forwarder
}

func newStorage(t *testing.T) *storage {
	t.Helper()
	return newStorageFormat(t, "")
}

// newStreamStorage is a storage writing format 1 (spec.format: Stream):
// one object per target, which restoreByHand needs.
func newStreamStorage(t *testing.T) *storage {
	t.Helper()
	return newStorageFormat(t, v1alpha1.StorageFormatStream)
}

func newStorageFormat(t *testing.T, format v1alpha1.StorageFormat) *storage {
	t.Helper()
	m := testutil.StartMinIO(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s := &storage{name: "minio-" + randomSuffix(), minio: m, identity: id}
	host, way := exposeCuttable(t, operatorNS, s.name, strings.TrimPrefix(m.Endpoint, "http://"), 9000)
	s.way = way
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: s.name},
		StringData: map[string]string{"accessKeyID": m.AccessKey, "secretAccessKey": m.SecretKey, "identity": id.String()}})
	create(t, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: s.name}, Spec: v1alpha1.BackupStorageSpec{
		Format: format,
		S3: &v1alpha1.S3Storage{Bucket: m.Bucket, Prefix: "cluster", Endpoint: "http://" + host + ":9000", Region: testutil.MinIORegion,
			ForcePathStyle: true, CredentialsSecretRef: &v1alpha1.SecretReference{Name: s.name}},
		Encryption: &v1alpha1.Encryption{Recipients: []string{id.Recipient().String()},
			IdentitySecretRef: &v1alpha1.SecretKeySelector{Name: s.name, Key: "identity"}},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"coffer.dev/test": "cluster"}},
	}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = suite.client.Delete(ctx, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: s.name}})
		_ = suite.client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: s.name}})
	})
	return s
}

// postgresDefinition is a definition of one postgres target, the database on
// this machine's PostgreSQL reached through a Service in the app namespace.
func postgresDefinition(t *testing.T, namespace, name, storage, db string) *v1alpha1.BackupDefinition {
	t.Helper()
	pg := testutil.SharedPostgres(t)
	host, secret := databaseService(t, namespace, "pg", net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)), 5432, "trust-"+randomSuffix())
	return definition(t, namespace, name, storage, "0 0 1 1 *", v1alpha1.Target{Name: "main", Postgres: &v1alpha1.PostgresTarget{
		Host: host, Port: 5432, Database: db, User: pg.User, PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: secret, Key: "password"}}})
}

// definition creates a BackupDefinition of one target.
func definition(t *testing.T, namespace, name, storage, schedule string, target v1alpha1.Target) *v1alpha1.BackupDefinition {
	t.Helper()
	def := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: v1alpha1.BackupDefinitionSpec{
		StorageRef: v1alpha1.LocalObjectReference{Name: storage},
		Schedule:   schedule,
		Targets:    []v1alpha1.Target{target},
	}}
	create(t, def)
	return def
}

// databaseService exposes a database server of this machine in the app
// namespace as <prefix>-<random>.<namespace>.svc, with a Secret of that
// name holding password under "password".
func databaseService(t *testing.T, namespace, prefix, target string, port int32, password string) (host, secret string) {
	t.Helper()
	svc := prefix + "-" + randomSuffix()
	host = expose(t, namespace, svc, target, port)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: svc},
		StringData: map[string]string{"password": password}})
	return host, svc
}

// runnerReady waits for the definition's runner pod to be Running and Ready.
func runnerReady(t *testing.T, namespace, name string, timeout time.Duration) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{}
	podName := controller.RunnerName(namespace, name) + "-0"
	poll(t, "runner pod "+podName+" of "+namespace+"/"+name+" Ready", timeout, func() bool {
		if err := get(pod, operatorNS, podName); err != nil || pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
			return false
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}, func() string {
		out, _ := kubectl(context.Background(), "-n", operatorNS, "describe", "statefulsets,pods")
		return out
	})
	return pod
}

// backupNow creates an on-demand Backup and waits for it to end; it returns the Backup.
func backupNow(t *testing.T, namespace, definition, name string, timeout time.Duration) *v1alpha1.Backup {
	t.Helper()
	create(t, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: definition}}})
	return waitBackup(t, namespace, name, timeout)
}

func waitBackup(t *testing.T, namespace, name string, timeout time.Duration) *v1alpha1.Backup {
	t.Helper()
	b := &v1alpha1.Backup{}
	poll(t, "Backup "+namespace+"/"+name+" to end", timeout, func() bool {
		err := get(b, namespace, name)
		return err == nil && (b.Status.Phase == v1alpha1.BackupCompleted || b.Status.Phase == v1alpha1.BackupFailed)
	}, func() string { return fmt.Sprintf("status: %+v", b.Status) })
	return b
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
