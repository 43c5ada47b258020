package retention

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLayout(t *testing.T) {
	tests := map[string]struct {
		prefix, key string
		want        ObjectKey
		ok          bool
	}{
		"backup file":              {"", "ns/def/id/main.pgdump.zst.age", ObjectKey{BackupDir{"ns", "def", "id"}, "main.pgdump.zst.age"}, true},
		"with prefix":              {"prod/", "prod/ns/def/id/manifest.json", ObjectKey{BackupDir{"ns", "def", "id"}, "manifest.json"}, true},
		"lock is not a backup":     {"", "ns/def/lock", ObjectKey{}, false},
		"other prefix":             {"prod", "staging/ns/def/id/f", ObjectKey{}, false},
		"prefix must be a segment": {"prod", "production/ns/def/id/f", ObjectKey{}, false},
		"prefix missing from layout shifts nothing": {"", "prod/ns/def/id/f", ObjectKey{}, false},
		"empty segment":    {"", "ns//id/f", ObjectKey{}, false},
		"directory marker": {"", "ns/def/id/", ObjectKey{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := Layout(tc.prefix)(tc.key)
			if ok != tc.ok || got != tc.want {
				t.Errorf("Layout(%q)(%q) = %v, %v; want %v, %v", tc.prefix, tc.key, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPlanSweep(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	old := now.Add(-72 * time.Hour)
	obj := func(key string, mod time.Time) StoredObject { return StoredObject{Key: key, ModTime: mod} }
	tests := map[string]struct {
		in   SweepInput
		want []string
	}{
		"orphan older than grace is swept whole": {
			in: SweepInput{Objects: []StoredObject{
				obj("ns/def/b1/main.sql.zst", old), obj("ns/def/b1/ci.sql.zst", old.Add(time.Hour)),
			}},
			want: []string{"ns/def/b1/ci.sql.zst", "ns/def/b1/main.sql.zst"},
		},
		"directory with a manifest is never swept": {
			in: SweepInput{Objects: []StoredObject{
				obj("ns/def/b1/main.sql.zst", old), obj("ns/def/b1/manifest.json", old),
			}},
		},
		"catalogued backup is never swept, even if its manifest is not listed": {
			in: SweepInput{
				Objects:   []StoredObject{obj("ns/def/b1/main.sql.zst", old)},
				Committed: map[string]bool{"b1": true},
			},
		},
		"one young object keeps the directory": {
			in: SweepInput{Objects: []StoredObject{
				obj("ns/def/b1/main.sql.zst", old), obj("ns/def/b1/ci.sql.zst", now.Add(-time.Hour)),
			}},
		},
		"object from the future keeps the directory": {
			in: SweepInput{Objects: []StoredObject{obj("ns/def/b1/main.sql.zst", now.Add(time.Hour))}},
		},
		"grace is configurable": {
			in: SweepInput{
				Objects: []StoredObject{obj("ns/def/b1/main.sql.zst", now.Add(-2*time.Hour))},
				Grace:   time.Hour,
			},
			want: []string{"ns/def/b1/main.sql.zst"},
		},
		"lock is never swept": {
			in:   SweepInput{Objects: []StoredObject{obj("ns/def/lock", old), obj("ns/def/b1/f", old)}},
			want: []string{"ns/def/b1/f"},
		},
		"a parser that mistakes the lock for a file still spares it": {
			in: SweepInput{
				Objects: []StoredObject{obj("prod/ns/def/lock", old), obj("prod/ns/def/b1/f", old)},
				Parse:   Layout(""), // prefix "prod" forgotten
			},
		},
		"listing error sweeps nothing": {
			in: SweepInput{
				Objects: []StoredObject{obj("ns/def/b1/main.sql.zst", old)},
				Err:     errors.New("list: timeout"),
			},
		},
		"foreign keys are left alone": {
			in: SweepInput{Objects: []StoredObject{obj("README", old), obj("ns/def/b1/sub/dir/f", old)}},
		},
		"only orphans go, committed neighbours stay": {
			in: SweepInput{
				Objects: []StoredObject{
					obj("prod/ns/def/lock", old),
					obj("prod/ns/def/b1/main.sql.zst", old), obj("prod/ns/def/b1/manifest.json", old),
					obj("prod/ns/def/b2/main.sql.zst", old),
					obj("prod/ns/def/b3/main.sql.zst", old),
					obj("prod/ns/other/b4/main.sql.zst", old), obj("prod/ns/other/b4/main.sql.zst", old),
				},
				Committed: map[string]bool{"b3": true},
				Parse:     Layout("prod"),
			},
			want: []string{"prod/ns/def/b2/main.sql.zst", "prod/ns/other/b4/main.sql.zst"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.Now = now
			got := PlanSweep(tc.in)
			if !reflect.DeepEqual(got.Delete, tc.want) {
				t.Errorf("delete = %q, want %q", got.Delete, tc.want)
			}
			for _, d := range got.Dirs {
				if d.Reason == "" {
					t.Errorf("%v: no reason", d.Dir)
				}
			}
		})
	}
}

func TestPlanSweepReasons(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	got := PlanSweep(SweepInput{
		Objects: []StoredObject{
			{Key: "ns/d/b2/x", ModTime: now.Add(-30 * time.Hour)},
			{Key: "ns/d/b1/x", ModTime: now.Add(-time.Hour)},
			{Key: "ns/d/b0/manifest.json", ModTime: now.Add(-time.Hour)},
		},
		Now: now,
	})
	want := []SweepDecision{
		{BackupDir{"ns", "d", "b0"}, []string{"ns/d/b0/manifest.json"}, false, "committed: has manifest.json"},
		{BackupDir{"ns", "d", "b1"}, []string{"ns/d/b1/x"}, false, "no manifest, but newest object is 1h0m0s old, within grace 24h0m0s: upload may be running"},
		{BackupDir{"ns", "d", "b2"}, []string{"ns/d/b2/x"}, true, "orphan: no manifest, newest object is 30h0m0s old (grace 24h0m0s)"},
	}
	if !reflect.DeepEqual(got.Dirs, want) {
		t.Errorf("dirs =\n%v\nwant\n%v", got.Dirs, want)
	}
}

// FuzzLayout checks that a parsed key is exactly its parts put back together,
// so the sweeper can never act on a key it misread.
func FuzzLayout(f *testing.F) {
	for _, k := range []string{"prod/ns/def/id/f", "prod/ns/def/lock", "prod//x/y/z", "ns/def/id/f", "prod/a/b/c/d/e"} {
		f.Add("prod", k)
	}
	f.Fuzz(func(t *testing.T, prefix, key string) {
		k, ok := Layout(prefix)(key)
		if !ok {
			return
		}
		rebuilt := k.Dir.String() + k.File
		if p := strings.Trim(prefix, "/"); p != "" {
			rebuilt = p + "/" + rebuilt
		}
		if rebuilt != key {
			t.Fatalf("Layout(%q)(%q) = %+v, which rebuilds to %q", prefix, key, k, rebuilt)
		}
		if strings.Contains(k.File, "/") || k.File == "" || k.Dir.BackupID == "" {
			t.Fatalf("Layout(%q)(%q) = %+v", prefix, key, k)
		}
	})
}
