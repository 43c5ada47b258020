package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/storage"
)

// smallParts is the S3 minimum, so a few tens of MiB make many parts.
func smallParts(c *storage.Config) {
	c.PartSize = 5 * mib
	c.Concurrency = 2
}

var storeCases = map[string]func(t *testing.T, f fixture){
	"round trip of 40 MiB in 5 MiB parts": func(t *testing.T, f fixture) {
		s := f.open(t, smallParts)
		want := digestOf(t, newRandomStream(1, 40*mib))
		if err := s.Put(context.Background(), "ns/def/b1/main.dump", newRandomStream(1, 40*mib)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := getAll(t, s, "ns/def/b1/main.dump"); got != want {
			t.Fatalf("read back %d bytes %x, want %d bytes %x", got.n, got.sum, want.n, want.sum)
		}
		objs, err := s.List(context.Background(), "ns/")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(objs) != 1 || objs[0].Key != "ns/def/b1/main.dump" || objs[0].Size != 40*mib || objs[0].ModTime.IsZero() {
			t.Fatalf("List = %+v, want one 40 MiB object with a ModTime", objs)
		}
	},

	"round trip at boundary sizes": func(t *testing.T, f fixture) {
		s := f.open(t, smallParts)
		for _, size := range []int64{0, 1, 5*mib - 1, 5 * mib, 5*mib + 1, 10*mib + 1} {
			key := fmt.Sprintf("sizes/%d", size)
			want := digestOf(t, newRandomStream(byte(size), size))
			if err := s.Put(context.Background(), key, newRandomStream(byte(size), size)); err != nil {
				t.Fatalf("Put of %d bytes: %v", size, err)
			}
			if got := getAll(t, s, key); got != want {
				t.Errorf("%d bytes: read back %d bytes %x, want %x", size, got.n, got.sum, want.sum)
			}
		}
		objs, err := s.List(context.Background(), "sizes/")
		if err != nil || len(objs) != 6 {
			t.Fatalf("List = %d objects, %v; want 6", len(objs), err)
		}
	},

	"a flipped byte is read back as stored": func(t *testing.T, f fixture) {
		// The store hands back exactly the stored bytes, never a cached or
		// repaired copy, so the sha256 in the manifest catches bit rot.
		s := f.open(t, nil)
		key := "ns/def/b1/main.dump"
		if err := s.Put(context.Background(), key, newRandomStream(6, 4096)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		orig := getAll(t, s, key)
		f.tamper(t, key, func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b })
		got := getAll(t, s, key)
		if got.n != orig.n || got.sum == orig.sum {
			t.Fatalf("after a flipped byte: read %d bytes %x, original %d bytes %x; want the same length and a different hash", got.n, got.sum, orig.n, orig.sum)
		}
	},

	"listing of 10,000 manifests": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		const n = 10000
		keys := make(chan string)
		var wg sync.WaitGroup
		var failed sync.Once
		for range 16 {
			wg.Go(func() {
				for k := range keys {
					if err := s.Put(context.Background(), k, strings.NewReader(`{"formatVersion":1}`)); err != nil {
						failed.Do(func() { t.Errorf("Put %s: %v", k, err) })
					}
				}
			})
		}
		for i := range n {
			keys <- fmt.Sprintf("ns/def/20261121T%06dZ-%04x/manifest.json", i, i)
		}
		close(keys)
		wg.Wait()
		if t.Failed() {
			return
		}
		objs, err := s.List(context.Background(), "ns/def/")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(objs) != n {
			t.Fatalf("List = %d objects, want %d", len(objs), n)
		}
		for i, o := range objs {
			if want := fmt.Sprintf("ns/def/20261121T%06dZ-%04x/manifest.json", i, i); o.Key != want {
				t.Fatalf("List[%d] = %s, want %s", i, o.Key, want)
			}
		}
	},

	"empty object": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		if err := s.Put(context.Background(), "empty", strings.NewReader("")); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := getAll(t, s, "empty"); got.n != 0 {
			t.Fatalf("read back %d bytes, want 0", got.n)
		}
	},

	"put replaces an object": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		for _, body := range []string{"first version", "second"} {
			if err := s.Put(context.Background(), "k", strings.NewReader(body)); err != nil {
				t.Fatalf("Put: %v", err)
			}
		}
		assertContent(t, s, "k", "second")
	},

	"reader error mid-stream leaves nothing": func(t *testing.T, f fixture) {
		s := f.open(t, smallParts)
		boom := errors.New("dump exited 1")
		r := &failAfter{src: newRandomStream(2, 40*mib), n: 12 * mib, then: func() error { return boom }}
		err := s.Put(context.Background(), "ns/def/b1/main.dump", r)
		if !errors.Is(err, boom) {
			t.Fatalf("Put: got %v, want the reader's error", err)
		}
		assertAbsent(t, f, s, "ns/def/b1/main.dump")
	},

	"cancelled mid-stream leaves nothing": func(t *testing.T, f fixture) {
		s := f.open(t, smallParts)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := &failAfter{src: newRandomStream(3, 40*mib), n: 12 * mib, then: func() error { cancel(); return nil }}
		err := s.Put(ctx, "ns/def/b1/main.dump", r)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put: got %v, want context.Canceled", err)
		}
		assertAbsent(t, f, s, "ns/def/b1/main.dump")
	},

	"object invisible while its put runs": func(t *testing.T, f fixture) {
		s := f.open(t, smallParts)
		reached, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		r := &failAfter{src: newRandomStream(4, 20*mib), n: 12 * mib, then: func() error {
			once.Do(func() { close(reached); <-release })
			return nil
		}}
		done := make(chan error, 1)
		go func() { done <- s.Put(context.Background(), "slow", r) }()
		select {
		case <-reached:
		case err := <-done:
			t.Fatalf("Put returned early: %v", err)
		}
		objs, err := s.List(context.Background(), "")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(objs) != 0 {
			t.Errorf("List during Put = %+v, want nothing", objs)
		}
		if _, err := s.Get(context.Background(), "slow"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get during Put: got %v, want ErrNotFound", err)
		}
		// The upload is under way, just not visible; this also proves that
		// leftovers can see one.
		if left := f.leftovers(t, "slow"); len(left) == 0 && !f.noLeftovers {
			t.Errorf("no temp file or multipart upload while Put runs")
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := getAll(t, s, "slow"); got.n != 20*mib {
			t.Fatalf("read back %d bytes, want %d", got.n, 20*mib)
		}
	},

	"part-count limit fails loudly": func(t *testing.T, f fixture) {
		s := f.open(t, func(c *storage.Config) {
			smallParts(c)
			c.MaxParts = 3
		})
		err := s.Put(context.Background(), "big", newRandomStream(5, 20*mib))
		if !f.partLimited {
			// Files have no parts: the limit is S3's, not Coffer's.
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			return
		}
		if !errors.Is(err, storage.ErrTooManyParts) {
			t.Fatalf("Put of 20 MiB in 3 parts of 5 MiB: got %v, want ErrTooManyParts", err)
		}
		assertAbsent(t, f, s, "big")
		// Exactly PartSize × MaxParts still fits.
		if err := s.Put(context.Background(), "full", newRandomStream(5, 15*mib)); err != nil {
			t.Fatalf("Put of 15 MiB in 3 parts of 5 MiB: %v", err)
		}
		if got := getAll(t, s, "full"); got.n != 15*mib {
			t.Fatalf("read back %d bytes, want %d", got.n, 15*mib)
		}
	},

	"create exclusive": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		ctx := context.Background()
		if err := s.CreateExclusive(ctx, "ns/def/lock", []byte("runner-a")); err != nil {
			t.Fatalf("first CreateExclusive: %v", err)
		}
		if err := s.CreateExclusive(ctx, "ns/def/lock", []byte("runner-b")); !errors.Is(err, storage.ErrExists) {
			t.Fatalf("second CreateExclusive: got %v, want ErrExists", err)
		}
		assertContent(t, s, "ns/def/lock", "runner-a")
		if err := s.Delete(ctx, "ns/def/lock"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := s.CreateExclusive(ctx, "ns/def/lock", []byte("runner-b")); err != nil {
			t.Fatalf("CreateExclusive after Delete: %v", err)
		}
		if left := f.leftovers(t, "ns/def/lock"); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	},

	"create exclusive race has one winner": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		const racers = 8
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				errs[i] = s.CreateExclusive(context.Background(), "lock", []byte{byte('a' + i)})
			})
		}
		wg.Wait()
		var won []int
		for i, err := range errs {
			switch {
			case err == nil:
				won = append(won, i)
			case !errors.Is(err, storage.ErrExists):
				t.Errorf("racer %d: %v", i, err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("winners %v, want exactly one", won)
		}
		assertContent(t, s, "lock", string(rune('a'+won[0])))
	},

	"a listing for backups stops at the first key past them": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		ctx := context.Background()
		def := layout.Definition{Namespace: "ns", Name: "db"}
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		a, b := def.Backup(layout.NewID(at)), def.Backup(layout.NewID(at.Add(time.Hour)))
		backups := []string{a.ManifestKey(), a.ObjectKey("main", "pgdump", true), b.ManifestKey()}
		others := []string{def.ChunkKey(strings.Repeat("a", 64), true), def.ChunkKey(strings.Repeat("b", 64), true),
			def.FailureKey(layout.NewID(at)), def.LockKey(1), def.StorageIDKey(), def.RestoreTestKey("r1")}
		for _, k := range append(slices.Clone(backups), others...) {
			if err := s.Put(ctx, k, strings.NewReader("x")); err != nil {
				t.Fatalf("Put %s: %v", k, err)
			}
		}
		refused := 0
		objs, err := s.ListWhile(ctx, def.Dir(), func(key string) bool {
			more := def.BackupsMayFollow(key)
			if !more {
				refused++
			}
			return more
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range objs {
			got = append(got, o.Key)
		}
		slices.Sort(got)
		slices.Sort(backups)
		if !slices.Equal(got, backups) {
			t.Errorf("ListWhile(%s, BackupsMayFollow) = %q, want the backups' objects %q", def.Dir(), got, backups)
		}
		if refused != 1 {
			t.Errorf("the listing went on past the first key after the backups: %d keys refused, want 1", refused)
		}
	},
	"a walk sees what a listing sees, and stops at its function's error": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		ctx := context.Background()
		keys := []string{"w/a/b", "w/a-b", "w/c", "w/d/e/f", "wx/outside"}
		for i, k := range keys {
			if err := s.Put(ctx, k, strings.NewReader(strings.Repeat("x", i+1))); err != nil {
				t.Fatalf("Put %s: %v", k, err)
			}
		}
		listed, err := s.List(ctx, "w/")
		if err != nil {
			t.Fatal(err)
		}
		var walked []storage.Object
		if err := s.Walk(ctx, "w/", func(o storage.Object) error { walked = append(walked, o); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(walked, func(a, b storage.Object) int { return strings.Compare(a.Key, b.Key) })
		if len(walked) != 4 || len(walked) != len(listed) {
			t.Fatalf("walked %d objects, listed %d; want 4 each", len(walked), len(listed))
		}
		for i := range listed {
			if walked[i].Key != listed[i].Key || walked[i].Size != listed[i].Size || !walked[i].ModTime.Equal(listed[i].ModTime) {
				t.Errorf("walked %+v, listed %+v", walked[i], listed[i])
			}
		}
		stop := errors.New("enough")
		calls := 0
		err = s.Walk(ctx, "w/", func(storage.Object) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 2 {
			t.Errorf("a walk whose function fails at the second object: err %v after %d calls; want %v after 2", err, calls, stop)
		}
		if err := s.Walk(ctx, "/abs", func(storage.Object) error { return nil }); err == nil {
			t.Error("a walk of an absolute prefix passed")
		}
	},
	"list is sorted and scoped": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		ctx := context.Background()
		keys := []string{"a/b/c", "a/b-x", "a/b/a", "ab", "b/x", "a/bz/deep/er"}
		for i, k := range keys {
			if err := s.Put(ctx, k, strings.NewReader(strings.Repeat("x", i))); err != nil {
				t.Fatalf("Put %s: %v", k, err)
			}
		}
		for prefix, want := range map[string][]string{
			"":     {"a/b-x", "a/b/a", "a/b/c", "a/bz/deep/er", "ab", "b/x"},
			"a/":   {"a/b-x", "a/b/a", "a/b/c", "a/bz/deep/er"},
			"a/b/": {"a/b/a", "a/b/c"},
			"a/b":  {"a/b-x", "a/b/a", "a/b/c", "a/bz/deep/er"},
			"c/":   nil,
		} {
			objs, err := s.List(ctx, prefix)
			if err != nil {
				t.Fatalf("List %q: %v", prefix, err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Key)
				if want := int64(slices.Index(keys, o.Key)); o.Size != want {
					t.Errorf("List %q: %s has size %d, want %d", prefix, o.Key, o.Size, want)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("List %q = %q, want %q", prefix, got, want)
			}
		}
		// Another prefix on the same bucket sees none of it.
		other := f.open(t, func(c *storage.Config) { c.Prefix += "-other" })
		if objs, err := other.List(ctx, ""); err != nil || len(objs) != 0 {
			t.Errorf("List under another prefix = %+v, %v; want nothing", objs, err)
		}
	},

	"get and delete of a missing key": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		ctx := context.Background()
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get: got %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "nope"); err != nil {
			t.Errorf("Delete of a missing key: %v", err)
		}
		if err := s.Put(ctx, "yes", strings.NewReader("x")); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := s.Delete(ctx, "yes"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, "yes"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
		}
	},

	"invalid keys are refused": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		ctx := context.Background()
		for _, key := range []string{"", "/abs", "a/../b", "a//b", "./a", "dir/", "tab\tkey", "x.attrs", "x.1a2b3c.tmp"} {
			if err := s.Put(ctx, key, strings.NewReader("x")); err == nil {
				t.Errorf("Put %q succeeded", key)
			}
			if err := s.CreateExclusive(ctx, key, nil); err == nil {
				t.Errorf("CreateExclusive %q succeeded", key)
			}
			if _, err := s.Get(ctx, key); err == nil || errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Get %q: got %v, want an invalid-key error", key, err)
			}
		}
	},

	"describe names the store but no secret": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		d := s.Describe()
		if !strings.HasSuffix(strings.Fields(d)[0], "/"+f.base.Prefix) {
			t.Errorf("Describe() = %q, want it to end in the prefix %q", d, f.base.Prefix)
		}
		if c := f.base.S3; c != nil {
			if !strings.HasPrefix(d, "s3://"+c.Bucket+"/") || !strings.Contains(d, c.Endpoint) {
				t.Errorf("Describe() = %q, want bucket %s and endpoint %s", d, c.Bucket, c.Endpoint)
			}
			if strings.Contains(d, c.SecretAccessKey) || strings.Contains(d, c.AccessKeyID) {
				t.Errorf("Describe() = %q contains a credential", d)
			}
		}
		if c := f.base.Filesystem; c != nil && !strings.HasPrefix(d, "file://"+c.Path+"/") {
			t.Errorf("Describe() = %q, want file://%s/...", d, c.Path)
		}
	},

	"errors name the key and the store": func(t *testing.T, f fixture) {
		s := f.open(t, nil)
		_, err := s.Get(context.Background(), "ns/missing")
		if err == nil || !strings.Contains(err.Error(), `"ns/missing"`) || !strings.Contains(err.Error(), s.Describe()) {
			t.Errorf("Get error %q should name the key and %s", err, s.Describe())
		}
		if c := f.base.S3; c != nil && strings.Contains(err.Error(), c.SecretAccessKey) {
			t.Errorf("error %q contains the secret key", err)
		}
	},
}

func TestStore(t *testing.T) {
	for backend, setup := range backends {
		t.Run(backend, func(t *testing.T) {
			newFixture := setup(t)
			for name, tc := range storeCases {
				t.Run(name, func(t *testing.T) { tc(t, newFixture(t)) })
			}
		})
	}
}

func assertContent(t *testing.T, s storage.Store, key, want string) {
	t.Helper()
	r, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer func() { _ = r.Close() }()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("%s = %q, want %q", key, got, want)
	}
}
