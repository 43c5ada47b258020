package etcd_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/etcd"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// harness maps the conformance suite onto etcd. A destination is a
// snapshot file (IntoPath) in a temporary directory, and its Fingerprint is
// that of a fresh etcd started from it with `etcdutl snapshot restore`,
// exactly as a user restores. The target's own data (the zero destination)
// is its live cluster. Restore writes a file and never connects
// (OfflineRestore), and has no default destination (NeedsDestination).
type harness struct {
	mu sync.Mutex
	// servers maps an endpoint to the server behind it.
	servers map[string]*testutil.Etcd
	auth    *testutil.Etcd
}

func newHarness() *harness { return &harness{servers: map[string]*testutil.Etcd{}} }

func (h *harness) Engine() engine.Engine { return &etcd.Engine{ConnectTimeout: 5 * time.Second} }
func (h *harness) Tools() []string       { return nil }

func (h *harness) Traits() enginetest.Traits {
	return enginetest.Traits{OfflineRestore: true, NeedsDestination: true}
}

var _ enginetest.Remote = (*harness)(nil)

func etcdTarget(name string, s *testutil.Etcd) engine.Target {
	return engine.Target{
		Spec:      v1alpha1.Target{Name: name, Etcd: &v1alpha1.EtcdTarget{Endpoints: []string{s.Endpoint}}},
		Namespace: "enginetest",
	}
}

// withPassword sets user root and password on target.
func withPassword(target engine.Target, password string) engine.Target {
	spec := *target.Spec.Etcd
	target.Spec.Etcd = &spec
	target.Spec.Etcd.Username = "root"
	target.Spec.Etcd.PasswordSecretRef = &v1alpha1.SecretKeySelector{Name: "etcd", Key: "password"}
	target.Secrets = engine.Secrets{"etcd": {"password": []byte(password)}}
	return target
}

func (h *harness) start(t *testing.T, opts testutil.EtcdOptions) *testutil.Etcd {
	s := testutil.StartEtcd(t, opts)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.servers[s.Endpoint] = s
	return s
}

func (h *harness) server(target engine.Target) *testutil.Etcd {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.servers[target.Spec.Etcd.Endpoints[0]]
}

func (h *harness) NewTarget(t *testing.T) engine.Target {
	s := h.start(t, testutil.EtcdOptions{})
	fill(t, s.Client(t))
	return etcdTarget("etcd-main", s)
}

func (h *harness) PasswordTarget(t *testing.T) engine.Target {
	s := h.start(t, testutil.EtcdOptions{})
	s.EnableAuth(t)
	fill(t, s.Client(t))
	return withPassword(etcdTarget("etcd-secret", s), s.RootPassword)
}

func (h *harness) BadCredentials(t *testing.T) engine.Target {
	h.mu.Lock()
	s := h.auth
	h.mu.Unlock()
	if s == nil {
		s = h.start(t, testutil.EtcdOptions{})
		s.EnableAuth(t)
		h.mu.Lock()
		h.auth = s
		h.mu.Unlock()
	}
	return withPassword(etcdTarget("etcd-badpass", s), testutil.HostilePassword())
}

func (h *harness) Unreachable(t *testing.T) engine.Target {
	target := etcdTarget("etcd-nowhere", &testutil.Etcd{})
	target.Spec.Etcd.Endpoints = []string{fmt.Sprintf("http://127.0.0.1:%d", testutil.ClosedPort(t))}
	return target
}

func (h *harness) NewDestination(t *testing.T, _ engine.Target, create bool) engine.RestoreOptions {
	path := filepath.Join(t.TempDir(), "snapshot.db")
	if create {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return engine.RestoreOptions{IntoPath: path}
}

func (h *harness) Fingerprint(t *testing.T, target engine.Target, dest engine.RestoreOptions) string {
	src := h.server(target)
	if dest.IntoPath == "" {
		return fingerprint(t, src.Client(t))
	}
	restored := testutil.StartEtcd(t, testutil.EtcdOptions{Snapshot: dest.IntoPath, RootPassword: src.RootPassword})
	defer restored.Stop()
	return fingerprint(t, restored.Client(t))
}

// Mutate replaces the snapshot file dest with a snapshot of the target's
// cluster holding one more key; the key is deleted again afterwards, so the
// live cluster's Fingerprint stays what it was.
func (h *harness) Mutate(t *testing.T, target engine.Target, dest engine.RestoreOptions) {
	cli := h.server(target).Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cli.Put(ctx, "mutated", testutil.UniqueName()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := cli.Delete(ctx, "mutated"); err != nil {
			t.Error(err)
		}
	}()
	rc, err := cli.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, err := os.Create(dest.IntoPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
}

// BreakMidStream kills the target's server, as a crash would, and starts
// it again on the same data, for the cases that follow.
func (h *harness) BreakMidStream(_ context.Context, target engine.Target) error {
	s := h.server(target)
	if err := s.Kill(); err != nil {
		return err
	}
	return s.Restart()
}

// largeValue is the size of each of the fixture's large values; three of
// them make the snapshot larger than enginetest.MinDumpSize.
const largeValue = 1 << 20

// fill writes what a snapshot must carry: binary keys and values, all 256
// byte values, non-ASCII text, empty values, large values, a key with a
// long history (partly compacted), deleted keys, keys attached to leases,
// and a transaction.
func fill(t *testing.T, cli *clientv3.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	put := func(k, v string, opts ...clientv3.OpOption) *clientv3.PutResponse {
		t.Helper()
		resp, err := cli.Put(ctx, k, v, opts...)
		if err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
		return resp
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	put("bytes/all", string(all))
	put("bytes/\x00key\xff\xfe", "binary key")
	put("text/grüße", "Grüße aus Köln — 世界 🎉 עברית\r\n'\"\\")
	put("text/empty", "")
	for i := range 3 {
		put(fmt.Sprintf("a-large/%d", i), strings.Repeat(fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i)})), largeValue/64))
	}
	first := put("history", "v0")
	for i := 1; i <= 200; i++ {
		put("history", fmt.Sprintf("v%d %s", i, strings.Repeat("h", 100*i%4096)))
	}
	if _, err := cli.Compact(ctx, first.Header.Revision+50); err != nil {
		t.Fatalf("compact: %v", err)
	}
	put("gone", "soon deleted")
	if _, err := cli.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		put(fmt.Sprintf("many/%03d", i), fmt.Sprint(i))
	}
	if _, err := cli.Delete(ctx, "many/04", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	lease, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		put(fmt.Sprintf("leased/%d", i), "lives with its lease", clientv3.WithLease(lease.ID))
	}
	if _, err := cli.Grant(ctx, 7200); err != nil { // a lease without keys
		t.Fatal(err)
	}
	_, err = cli.Txn(ctx).If(clientv3.Compare(clientv3.Version("txn/a"), "=", 0)).
		Then(clientv3.OpPut("txn/a", "1"), clientv3.OpPut("txn/b", "2")).Commit()
	if err != nil {
		t.Fatal(err)
	}
}

// fingerprint lists, one line each and sorted: every key with its value's
// hash, revisions, version and lease; every lease with its granted TTL;
// the history still held for key "history"; users and roles.
func fingerprint(t *testing.T, cli *clientv3.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := cli.Get(ctx, "\x00", clientv3.WithFromKey())
	if err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	var lines []string
	for _, kv := range resp.Kvs {
		lines = append(lines, fmt.Sprintf("key %q value %x create %d mod %d version %d lease %x",
			kv.Key, sha256.Sum256(kv.Value), kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease))
		if string(kv.Key) == "history" {
			lines = append(lines, history(ctx, t, cli, kv.ModRevision)...)
		}
	}
	leases, err := cli.Leases(ctx)
	if err != nil {
		t.Fatalf("fingerprint leases: %v", err)
	}
	for _, l := range leases.Leases {
		ttl, err := cli.TimeToLive(ctx, l.ID, clientv3.WithAttachedKeys())
		if err != nil {
			t.Fatalf("fingerprint lease %x: %v", l.ID, err)
		}
		lines = append(lines, fmt.Sprintf("lease %x granted %d keys %d", l.ID, ttl.GrantedTTL, len(ttl.Keys)))
	}
	users, err := cli.UserList(ctx)
	if err == nil {
		for _, u := range users.Users {
			lines = append(lines, "user "+u)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// history lists the revisions of "history" that survived compaction.
func history(ctx context.Context, t *testing.T, cli *clientv3.Client, last int64) []string {
	var lines []string
	for rev := last; rev > 0; rev-- {
		resp, err := cli.Get(ctx, "history", clientv3.WithRev(rev))
		if err != nil {
			lines = append(lines, fmt.Sprintf("history before %d: %v", rev+1, err))
			break
		}
		if len(resp.Kvs) == 0 {
			break
		}
		kv := resp.Kvs[0]
		lines = append(lines, fmt.Sprintf("history %d %x", kv.ModRevision, sha256.Sum256(kv.Value)))
		rev = kv.ModRevision
	}
	return lines
}
