package retention

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
)

// Backup ids of the sweep tests; the sweeper only sees directories named by
// ids, because anything else does not parse as a backup directory.
const (
	b0 = "20260428T100000Z-aaa0"
	b1 = "20260428T110000Z-aaa1"
	b2 = "20260428T120000Z-aaa2"
	b3 = "20260428T130000Z-aaa3"
	b4 = "20260428T140000Z-aaa4"
)

// obj is a listed object, parsed as the runner parses its listing.
func obj(key string, mod time.Time) StoredObject {
	return StoredObject{Key: layout.Parse(key), ModTime: mod}
}

func TestPlanSweep(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	old := now.Add(-72 * time.Hour)
	tests := map[string]struct {
		in   SweepInput
		want []string
	}{
		"orphan older than grace is swept whole": {
			in: SweepInput{Objects: []StoredObject{
				obj("ns/def/"+b1+"/main.sql.zst", old), obj("ns/def/"+b1+"/ci.sql.zst", old.Add(time.Hour)),
			}},
			want: []string{"ns/def/" + b1 + "/ci.sql.zst", "ns/def/" + b1 + "/main.sql.zst"},
		},
		"a stray file goes with its orphaned directory": {
			in:   SweepInput{Objects: []StoredObject{obj("ns/def/"+b1+"/f", old)}},
			want: []string{"ns/def/" + b1 + "/f"},
		},
		"directory with a manifest is never swept": {
			in: SweepInput{Objects: []StoredObject{
				obj("ns/def/"+b1+"/main.sql.zst", old), obj("ns/def/"+b1+"/manifest.json", old),
			}},
		},
		"catalogued backup is never swept, even if its manifest is not listed": {
			in: SweepInput{
				Objects:   []StoredObject{obj("ns/def/"+b1+"/main.sql.zst", old)},
				Committed: map[string]bool{b1: true},
			},
		},
		"one young object keeps the directory": {
			in: SweepInput{Objects: []StoredObject{
				obj("ns/def/"+b1+"/main.sql.zst", old), obj("ns/def/"+b1+"/ci.sql.zst", now.Add(-time.Hour)),
			}},
		},
		"object from the future keeps the directory": {
			in: SweepInput{Objects: []StoredObject{obj("ns/def/"+b1+"/main.sql.zst", now.Add(time.Hour))}},
		},
		"grace is configurable": {
			in: SweepInput{
				Objects: []StoredObject{obj("ns/def/"+b1+"/main.sql.zst", now.Add(-2*time.Hour))},
				Grace:   time.Hour,
			},
			want: []string{"ns/def/" + b1 + "/main.sql.zst"},
		},
		"lock and records are never swept": {
			in: SweepInput{Objects: []StoredObject{
				obj("ns/def/lock-000000000001", old), obj("ns/def/lock", old),
				obj("ns/def/failures/"+b0+".json", old), obj("ns/def/restores/"+b0+".json", old),
				obj("ns/def/"+b1+"/f", old),
			}},
			want: []string{"ns/def/" + b1 + "/f"},
		},
		"a prefix one level too shallow sweeps nothing": {
			in: SweepInput{Objects: []StoredObject{
				obj("prod/ns/def/lock-000000000001", old), obj("prod/ns/def/"+b1+"/f", old),
				obj("prod/ns/def/"+b2+"/main.sql.zst", old),
			}},
		},
		"a prefix one level too deep sweeps nothing": {
			in: SweepInput{Objects: []StoredObject{
				obj("def/lock-000000000001", old), obj("def/"+b1+"/main.sql.zst", old),
				obj("def/failures/"+b0+".json", old),
			}},
		},
		"listing error sweeps nothing": {
			in: SweepInput{
				Objects: []StoredObject{obj("ns/def/"+b1+"/main.sql.zst", old)},
				Err:     errors.New("list: timeout"),
			},
		},
		"foreign keys are left alone": {
			in: SweepInput{Objects: []StoredObject{
				obj("README", old), obj("ns/def/"+b1+"/sub/dir/f", old), obj("ns/def/b1/main.sql.zst", old),
				{Key: layout.Key{}, ModTime: old},
			}},
		},
		"only orphans go, committed neighbours stay": {
			in: SweepInput{
				Objects: []StoredObject{
					obj("ns/def/lock-000000000003", old),
					obj("ns/def/"+b1+"/main.sql.zst", old), obj("ns/def/"+b1+"/manifest.json", old),
					obj("ns/def/"+b2+"/main.sql.zst", old),
					obj("ns/def/"+b3+"/main.sql.zst", old),
					obj("ns/other/"+b4+"/main.sql.zst", old), obj("ns/other/"+b4+"/main.sql.zst", old),
				},
				Committed: map[string]bool{b3: true},
			},
			want: []string{"ns/def/" + b2 + "/main.sql.zst", "ns/other/" + b4 + "/main.sql.zst"},
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
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	got := PlanSweep(SweepInput{
		Objects: []StoredObject{
			obj("ns/d/"+b2+"/x", now.Add(-30*time.Hour)),
			obj("ns/d/"+b1+"/x", now.Add(-time.Hour)),
			obj("ns/d/"+b0+"/manifest.json", now.Add(-time.Hour)),
		},
		Now: now,
	})
	d := layout.Definition{Namespace: "ns", Name: "d"}
	want := []SweepDecision{
		{d.Backup(b0), []string{"ns/d/" + b0 + "/manifest.json"}, false, "committed: has manifest.json"},
		{d.Backup(b1), []string{"ns/d/" + b1 + "/x"}, false, "no manifest, but newest object is 1h0m0s old, within grace 24h0m0s: upload may be running"},
		{d.Backup(b2), []string{"ns/d/" + b2 + "/x"}, true, "orphan: no manifest, newest object is 30h0m0s old (grace 24h0m0s)"},
	}
	if !reflect.DeepEqual(got.Dirs, want) {
		t.Errorf("dirs =\n%v\nwant\n%v", got.Dirs, want)
	}
}
