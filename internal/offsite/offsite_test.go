package offsite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/offsite"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

var def = layout.Definition{Namespace: "default", Name: "shop"}

// sites are a primary and an offsite storage, each a real MinIO server of
// its own: the copy crosses endpoints and credentials, as it does between
// sites.
type sites struct {
	primary, offsite catalog.Catalog
}

func twoMinIOs(t *testing.T) sites {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no MinIO")
	}
	open := func(prefix string) catalog.Catalog {
		m := testutil.StartMinIO(t)
		s, err := storage.Open(context.Background(), m.StorageConfig(prefix))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return catalog.Catalog{Store: s, Definition: def}
	}
	return sites{primary: open("site-a"), offsite: open("site-b")}
}

// putBackup commits a backup with one object per target, of size bytes
// each, random (incompressible, as encrypted objects are).
func putBackup(t testing.TB, c catalog.Catalog, start time.Time, size int, targets ...string) *manifest.Manifest {
	t.Helper()
	ctx := context.Background()
	m := &manifest.Manifest{FormatVersion: manifest.FormatVersion, ID: layout.NewID(start), Namespace: def.Namespace,
		Definition: def.Name, Status: phase.Completed, StartTime: start, EndTime: start.Add(time.Minute),
		Labels: []string{}, Trigger: manifest.TriggerSchedule, Compression: "zstd"}
	for _, name := range targets {
		data := make([]byte, size)
		rand.Read(data)
		sum := sha256.Sum256(data)
		key := def.Backup(m.ID).ObjectKey(name, "pgdump", true)
		if err := c.Store.Put(ctx, key, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		m.Targets = append(m.Targets, manifest.Target{Name: name, Engine: "postgres", Object: key, StartTime: start,
			EndTime: start, Size: int64(size), SHA256: hex.EncodeToString(sum[:]), PlainSize: 1, PlainSHA256: hex.EncodeToString(sum[:])})
	}
	if err := c.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func read(t testing.TB, s storage.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sameBytes fails unless every object and the manifest of m are offsite
// exactly as on the primary.
func sameBytes(t *testing.T, s sites, m *manifest.Manifest) {
	t.Helper()
	keys := []string{def.Backup(m.ID).ManifestKey()}
	for _, tg := range m.Targets {
		keys = append(keys, tg.Object)
	}
	for _, k := range keys {
		if !bytes.Equal(read(t, s.primary.Store, k), read(t, s.offsite.Store, k)) {
			t.Errorf("%s differs offsite", k)
		}
	}
}

func ids(ms []*manifest.Manifest) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// TestOffsite runs the copy's guarantees against two real MinIO servers.
func TestOffsite(t *testing.T) {
	s := twoMinIOs(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	c := offsite.Copier{Src: s.primary, Dst: s.offsite}

	t.Run("copies byte for byte, manifest last", func(t *testing.T) {
		m := putBackup(t, s.primary, start, 3<<20, "main", "ci")
		rep, err := c.Sync(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Copied) != 1 || rep.Copied[0].ID != m.ID || rep.Bytes() != 6<<20 {
			t.Fatalf("report %+v", rep)
		}
		sameBytes(t, s, m)
		if rep, err := c.Sync(ctx, nil); err != nil || len(rep.Copied) != 0 || rep.Offsite != 1 {
			t.Fatalf("second sync copied again: %+v, %v", rep, err)
		}
	})

	t.Run("an interrupted copy is never visible and the next run completes it", func(t *testing.T) {
		m := putBackup(t, s.primary, start.Add(time.Hour), 2<<20, "main", "ci")
		cctx, cancel := context.WithCancel(ctx)
		cut := c
		cut.AfterObject = func(string) { cancel() } // the runner dies after the first object
		if _, err := cut.Sync(cctx, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted sync: %v", err)
		}
		listed, err := s.offsite.List(ctx)
		if err != nil || len(listed) != 1 || listed[0].ID == m.ID {
			t.Fatalf("offsite lists %v (%v): the interrupted copy is visible", ids(listed), err)
		}
		objs, _ := s.offsite.Store.List(ctx, def.Backup(m.ID).Dir())
		if len(objs) != 1 {
			t.Fatalf("offsite holds %d objects of the interrupted copy, want the 1 copied", len(objs))
		}
		rep, err := c.Sync(ctx, nil)
		if err != nil || len(rep.Copied) != 1 || rep.Copied[0].Reused != 1 || rep.Copied[0].Bytes != 2<<20 {
			t.Fatalf("resumed copy: %+v, %v", rep, err)
		}
		sameBytes(t, s, m)
	})

	t.Run("a corrupt primary object is not copied", func(t *testing.T) {
		m := putBackup(t, s.primary, start.Add(2*time.Hour), 1<<20, "main")
		data := read(t, s.primary.Store, m.Targets[0].Object)
		data[len(data)/2] ^= 0x01
		if err := s.primary.Store.Put(ctx, m.Targets[0].Object, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		_, err := c.Sync(ctx, nil)
		if !errors.Is(err, offsite.ErrMismatch) {
			t.Fatalf("sync of a flipped byte: %v", err)
		}
		if objs, _ := s.offsite.Store.List(ctx, def.Backup(m.ID).Dir()); len(objs) != 0 {
			t.Fatalf("offsite holds %v of a backup whose object did not match", objs)
		}
		if err := s.primary.DeleteBackup(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("pins follow the primary", func(t *testing.T) {
		ms, _ := s.primary.List(ctx)
		m, err := s.primary.Get(ctx, ms[0].ID) // a listing holds summaries, never written back
		if err != nil {
			t.Fatal(err)
		}
		m.Labels = []string{"pinned"}
		if err := s.primary.Commit(ctx, m); err != nil {
			t.Fatal(err)
		}
		rep, err := c.Sync(ctx, nil)
		if err != nil || len(rep.Relabelled) != 1 {
			t.Fatalf("relabel: %+v, %v", rep, err)
		}
		got, _ := s.offsite.Get(ctx, m.ID)
		if len(got.Labels) != 1 || got.Labels[0] != "pinned" {
			t.Fatalf("offsite labels %v", got.Labels)
		}
	})

	t.Run("only the selected backups are copied", func(t *testing.T) {
		a := putBackup(t, s.primary, start.Add(3*time.Hour), 1024, "main")
		b := putBackup(t, s.primary, start.Add(4*time.Hour), 1024, "main")
		rep, err := c.Sync(ctx, func(pending, _ []*manifest.Manifest) []*manifest.Manifest {
			if len(pending) != 2 || pending[0].ID != a.ID {
				t.Errorf("pending %v, want [%s %s]", ids(pending), a.ID, b.ID)
			}
			return pending[1:]
		})
		if err != nil || len(rep.Copied) != 1 || rep.Copied[0].ID != b.ID {
			t.Fatalf("selected copy: %+v, %v", rep, err)
		}
	})
}
