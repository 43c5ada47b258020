package controller_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// BenchmarkThousandDefinitions runs the coffer-controller binary as its own
// process against the test API server, creates 1,000 BackupDefinitions in
// 20 namespaces, and reports the time until every runner StatefulSet exists
// and the controller's peak RSS (goals: < 60 s, < 150 MiB). It runs once
// whatever b.N: it measures a rollout, not a loop.
func BenchmarkThousandDefinitions(b *testing.B) {
	e := testutil.StartEnvtest(b)
	ctx := context.Background()
	const opNS = "coffer-bench"
	bin := filepath.Join(b.TempDir(), "coffer-controller")
	build := exec.Command("go", "build", "-o", bin, "./cmd/coffer-controller")
	build.Dir = testutil.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	kubeconfig := writeKubeconfig(b, e.Config)
	c := e.Client
	mustCreateB(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opNS}})
	mustCreateB(b, c, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "fs"},
		Spec: v1alpha1.BackupStorageSpec{S3: &v1alpha1.S3Storage{Bucket: "bench", Endpoint: "http://127.0.0.1:9"},
			AllowedNamespaces: &metav1.LabelSelector{}}})
	var nss []string
	for i := range 20 {
		ns := fmt.Sprintf("bench-%02d", i)
		nss = append(nss, ns)
		mustCreateB(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}

	var logs bytes.Buffer
	cmd := exec.Command(bin, "--operator-namespace", opNS, "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--log-level", "error")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range 1000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: nss[i%20], Name: fmt.Sprintf("def-%04d", i)},
				Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: "fs"}, Schedule: "0 * * * *",
					Targets: []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "db", Database: "d", User: "u"}}}}}
			if err := c.Create(ctx, d); err != nil {
				panic(err)
			}
		}()
	}
	wg.Wait()
	created := time.Since(start)
	for {
		var list appsv1.StatefulSetList
		if err := c.List(ctx, &list, client.InNamespace(opNS)); err != nil {
			b.Fatal(err)
		}
		if len(list.Items) == 1000 {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of 1000 runners after 5 minutes\n%s", len(list.Items), logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	all := time.Since(start)
	rss := peakRSS(cmd.Process.Pid)
	b.ReportMetric(all.Seconds(), "s-to-1000-runners")
	b.ReportMetric(float64(rss)/(1<<20), "MiB-peak-RSS")
	b.Logf("1,000 definitions created in %v; all runner objects present after %v; controller peak RSS %.1f MiB",
		created.Round(time.Millisecond), all.Round(time.Millisecond), float64(rss)/(1<<20))
}

func mustCreateB(b *testing.B, c client.Client, obj client.Object) {
	if err := c.Create(context.Background(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
}

func writeKubeconfig(b *testing.B, cfg *rest.Config) string {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(b.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		b.Fatal(err)
	}
	return path
}

func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
