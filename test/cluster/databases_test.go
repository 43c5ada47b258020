//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// testDatabasesImage is the image hack/images.sh builds from
// test/cluster/images/databases.Dockerfile: PostgreSQL 17 and MariaDB.
const testDatabasesImage = "coffer.local/test-databases:dev"

// restricted labels an app namespace to enforce Pod Security "restricted":
// the database pods must be admitted under it.
var restricted = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}

// databasePod is a database server running as a pod of the test image.
type databasePod struct {
	pod    string // the pod's name
	ip     string // its IP, routable from this machine (the node)
	host   string // <service>.<namespace>.svc, the Service selecting it
	secret string // the Secret holding the superuser's password under "password"
	pass   string
}

// postgresPod runs a PostgreSQL 17 pod in namespace; the returned server is
// its superuser (postgres, scram-sha-256) reached from the test host by the
// pod's IP.
func postgresPod(t *testing.T, namespace string) (*databasePod, testutil.PGServer) {
	t.Helper()
	p := startDatabasePod(t, namespace, "postgres", "POSTGRES_PASSWORD", 5432)
	return p, testutil.PGServer{Host: p.ip, Port: 5432, User: "postgres", Password: p.pass}
}

// mariadbPod runs a MariaDB pod in namespace; the returned server is its
// root (password from the pod's Secret) reached by the pod's IP.
func mariadbPod(t *testing.T, namespace string) (*databasePod, testutil.MySQLServer) {
	t.Helper()
	p := startDatabasePod(t, namespace, "mariadb", "MARIADB_ROOT_PASSWORD", 3306)
	return p, testutil.MySQLServer{Host: p.ip, Port: 3306, User: "root", Password: p.pass}
}

// startDatabasePod creates a Secret with a quoting-hostile password, a pod
// of the test image running engine (its data in an emptyDir, the password
// from the Secret in passwordEnv) under Pod Security "restricted", and a
// Service selecting it; it waits for the pod to be Ready.
func startDatabasePod(t *testing.T, namespace, engine, passwordEnv string, port int32) *databasePod {
	t.Helper()
	name := engine + "-" + randomSuffix()
	p := &databasePod{pod: name, secret: name, pass: testutil.HostilePassword(), host: name + "." + namespace + ".svc"}
	labels := map[string]string{"app.kubernetes.io/name": name}
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		StringData: map[string]string{"password": p.pass}})
	ready := []string{"/usr/local/bin/coffer-test-db", "ready", engine}
	create(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65532)),
			RunAsGroup: ptr.To(int64(65532)), FSGroup: ptr.To(int64(65532)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name: engine, Image: testDatabasesImage, ImagePullPolicy: corev1.PullNever, Args: []string{engine},
			Env: []corev1.EnvVar{{Name: passwordEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "password"}}}},
			Ports:        []corev1.ContainerPort{{Name: "db", ContainerPort: port}},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "tmp", MountPath: "/tmp"}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: ready}},
				PeriodSeconds: 2, TimeoutSeconds: 5},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
		}},
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		},
	}})
	create(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: corev1.ServiceSpec{
		Selector: labels,
		Ports:    []corev1.ServicePort{{Name: "db", Port: port, TargetPort: intstr.FromString("db"), Protocol: corev1.ProtocolTCP}},
	}})
	pod := &corev1.Pod{}
	poll(t, engine+" pod "+namespace+"/"+name+" Ready", 3*time.Minute, func() bool {
		if get(pod, namespace, name) != nil || pod.Status.PodIP == "" {
			return false
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}, func() string {
		desc, _ := kubectl(context.Background(), "-n", namespace, "describe", "pod", name)
		logs, _ := kubectl(context.Background(), "-n", namespace, "logs", name)
		return desc + "\nlogs:\n" + logs
	})
	p.ip = pod.Status.PodIP
	return p
}

// execIn is a shell command for restoreByHand that runs script (sh -c) in
// the database pod with stdin attached: the pod's own clients, with the
// password from the container's environment, never from a command line.
func (p *databasePod) execIn(namespace, script string) string {
	return fmt.Sprintf("%s --kubeconfig %s -n %s exec -i %s -- sh -c %s", kubectlPath(), suite.kubeconfig, namespace, p.pod, shellQuote(script))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// mysqlQuote is a MariaDB string literal under the default sql_mode.
func mysqlQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
