package daemon

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestReadinessSaysWhy, on real MinIO: a runner whose lease another runner
// holds says so, naming the holder and the expiry; a runner whose storage
// stops answering says the storage is not reachable — first from the
// readiness listing, and still after its lease lapsed and every acquire
// fails — never only "no lease", and never with the storage's secret.
func TestReadinessSaysWhy(t *testing.T) {
	st, minio := minioStorageOf(t)
	db := testutil.PostgresDB(t)
	cfg := loadConfigOn(t, st.spec, st.docs, db, true)
	ttl := 3 * time.Second
	a := startDaemon(t, cfg, Options{LeaseTTL: ttl})
	if rd := readiness(t, a); !rd.Ready || rd.Reason != "" {
		t.Fatalf("the lease holder: %+v, want ready", rd)
	}

	b := launchDaemon(t, cfg, Options{LeaseTTL: ttl})
	var rd runnerapi.Readiness
	testutil.Eventually(t, 30*time.Second, "the second runner to say the lease is held", func() bool {
		rd = readiness(t, b)
		return rd.Reason == runnerapi.ReadinessLeaseHeld
	})
	if !strings.HasPrefix(rd.Message, "lease held by ") || !strings.Contains(rd.Message, " until ") || rd.Ready {
		t.Fatalf("second runner: %+v", rd)
	}
	b.cancel()
	if err := b.wait(t); err != nil {
		t.Fatal(err)
	}

	minio.Stop()
	testutil.Eventually(t, 30*time.Second, "the runner to say its storage is unreachable", func() bool {
		rd = readiness(t, a)
		return rd.Reason == runnerapi.ReadinessStorageUnreachable
	})
	checkUnreachable(t, rd, minio)
	// Past the lease's lapse the cause is the failing acquire: still the
	// storage, not the lease.
	testutil.Eventually(t, 60*time.Second, "the lease to lapse", func() bool {
		return strings.Contains(metricsOf(t, a), `coffer_lease_held{definition="shop",namespace="test"} 0`)
	})
	testutil.Eventually(t, 30*time.Second, "the lapsed runner to say its storage is unreachable", func() bool {
		rd = readiness(t, a)
		return rd.Reason == runnerapi.ReadinessStorageUnreachable
	})
	checkUnreachable(t, rd, minio)
	if code := a.call(t, "GET", "/readyz", nil, nil); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d, want 503", code)
	}
}

func checkUnreachable(t *testing.T, rd runnerapi.Readiness, m *testutil.MinIO) {
	t.Helper()
	if rd.Ready || !strings.HasPrefix(rd.Message, "storage ") || !strings.Contains(rd.Message, "is not reachable: ") ||
		!strings.Contains(rd.Message, m.Bucket) {
		t.Errorf("readiness %+v: want storage s3://%s/... is not reachable: <cause>", rd, m.Bucket)
	}
	if strings.Contains(rd.Message, m.SecretKey) || strings.Contains(rd.Message, m.AccessKey) {
		t.Errorf("readiness message holds the storage's credentials: %q", rd.Message)
	}
}

func readiness(t *testing.T, r *running) runnerapi.Readiness {
	t.Helper()
	var rd runnerapi.Readiness
	if code := r.call(t, "GET", "/v1/readiness", nil, &rd); code != http.StatusOK {
		t.Fatalf("GET /v1/readiness = %d", code)
	}
	return rd
}

func metricsOf(t *testing.T, r *running) string {
	t.Helper()
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}
