package layout

import (
	"strings"
	"testing"
	"time"
)

const id = "20261121T103000Z-k3f9"

var shop = Definition{Namespace: "default", Name: "shop"}

// TestKeys pins every key to the bytes Coffer wrote before this package
// owned them (catalog, lease, retention each composed their own): changing
// one orphans every existing backup, record or lease in storage.
func TestKeys(t *testing.T) {
	t.Parallel()
	b := shop.Backup(id)
	tests := map[string]struct{ got, want string }{
		"definition name":          {shop.String(), "default/shop"},
		"definition directory":     {shop.Dir(), "default/shop/"},
		"backup directory":         {b.Dir(), "default/shop/20261121T103000Z-k3f9/"},
		"manifest":                 {b.ManifestKey(), "default/shop/20261121T103000Z-k3f9/manifest.json"},
		"encrypted object":         {b.ObjectKey("main", "pgdump", true), "default/shop/20261121T103000Z-k3f9/main.pgdump.zst.age"},
		"plain object":             {b.ObjectKey("ci", "sql", false), "default/shop/20261121T103000Z-k3f9/ci.sql.zst"},
		"failures directory":       {shop.FailuresDir(), "default/shop/failures/"},
		"failure record":           {shop.FailureKey(id), "default/shop/failures/20261121T103000Z-k3f9.json"},
		"restores directory":       {shop.RestoresDir(), "default/shop/restores/"},
		"restore record":           {shop.RestoreKey("20261121T103000Z-cccc"), "default/shop/restores/20261121T103000Z-cccc.json"},
		"verifications directory":  {shop.VerificationsDir(), "default/shop/verifications/"},
		"verification record":      {shop.VerificationKey(id), "default/shop/verifications/20261121T103000Z-k3f9.json"},
		"restore tests directory":  {shop.RestoreTestsDir(), "default/shop/restore-tests/"},
		"restore test record":      {shop.RestoreTestKey(id), "default/shop/restore-tests/20261121T103000Z-k3f9.json"},
		"chunks directory":         {shop.ChunksDir(), "default/shop/chunks/"},
		"encrypted chunk":          {shop.ChunkKey("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true), "default/shop/chunks/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.zst.age"},
		"plain chunk":              {shop.ChunkKey("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false), "default/shop/chunks/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.zst"},
		"lock prefix":              {shop.LockPrefix(), "default/shop/lock-"},
		"first lock":               {shop.LockKey(1), "default/shop/lock-000000000001"},
		"lock after takeovers":     {shop.LockKey(42), "default/shop/lock-000000000042"},
		"highest lock":             {shop.LockKey(MaxGeneration), "default/shop/lock-999999999999"},
		"stray file":               {b.FileKey("notes.txt"), "default/shop/20261121T103000Z-k3f9/notes.txt"},
		"id":                       {NewID(time.Date(2026, 11, 21, 10, 30, 0, 0, time.FixedZone("CET", 3600)))[:17], "20261121T093000Z-"},
		"id second":                {IDSecond(id), "20261121T103000Z"},
		"manifest as a parsed key": {Key{Kind: Manifest, Definition: shop, ID: id}.String(), "default/shop/20261121T103000Z-k3f9/manifest.json"},
		"foreign has no key":       {Key{}.String(), ""},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", name, tc.got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	foreign := Key{}
	tests := map[string]struct {
		key  string
		want Key
	}{
		"manifest":                   {"default/shop/20261121T103000Z-k3f9/manifest.json", Key{Kind: Manifest, Definition: shop, ID: id}},
		"encrypted object":           {"default/shop/20261121T103000Z-k3f9/main.pgdump.zst.age", Key{Kind: Object, Definition: shop, ID: id, Target: "main", Ext: "pgdump", Encrypted: true}},
		"plain object":               {"default/shop/20261121T103000Z-k3f9/ci-2.sql.zst", Key{Kind: Object, Definition: shop, ID: id, Target: "ci-2", Ext: "sql"}},
		"stray file":                 {"default/shop/20261121T103000Z-k3f9/f", Key{Kind: Stray, Definition: shop, ID: id, File: "f"}},
		"uncompressed is stray":      {"default/shop/20261121T103000Z-k3f9/main.sql.age", Key{Kind: Stray, Definition: shop, ID: id, File: "main.sql.age"}},
		"upper-case target is stray": {"default/shop/20261121T103000Z-k3f9/Main.sql.zst", Key{Kind: Stray, Definition: shop, ID: id, File: "Main.sql.zst"}},
		"failure":                    {"default/shop/failures/20261121T103000Z-k3f9.json", Key{Kind: Failure, Definition: shop, ID: id}},
		"restore":                    {"default/shop/restores/20261121T103000Z-k3f9.json", Key{Kind: Restore, Definition: shop, ID: id}},
		"lock":                       {"default/shop/lock-000000000042", Key{Kind: Lock, Definition: shop, Generation: 42}},
		"verification":               {"default/shop/verifications/20261121T103000Z-k3f9.json", Key{Kind: Verification, Definition: shop, ID: id}},
		"restore test":               {"default/shop/restore-tests/20261121T103000Z-k3f9.json", Key{Kind: RestoreTest, Definition: shop, ID: id}},
		"restore test with a bad id": {"default/shop/restore-tests/x.json", foreign},
		"encrypted chunk":            {"default/shop/chunks/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.zst.age", Key{Kind: Chunk, Definition: shop, Hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Encrypted: true}},
		"plain chunk":                {"default/shop/chunks/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.zst", Key{Kind: Chunk, Definition: shop, Hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
		"chunk with a short hash":    {"default/shop/chunks/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde.zst", foreign},
		"chunk with upper-case hex":  {"default/shop/chunks/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF.zst", foreign},
		"chunk not compressed":       {"default/shop/chunks/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.age", foreign},
		"chunk nested":               {"default/shop/chunks/ab/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.zst", foreign},
		"dotted definition":          {"default/shop.v2/lock-000000000001", Key{Kind: Lock, Definition: Definition{"default", "shop.v2"}, Generation: 1}},

		"old lock name":                      {"default/shop/lock", foreign},
		"lock generation zero":               {"default/shop/lock-000000000000", foreign},
		"lock generation too long":           {"default/shop/lock-0000000000001", foreign},
		"lock generation signed":             {"default/shop/lock-+00000000001", foreign},
		"lock in a backup directory":         {"default/shop/20261121T103000Z-k3f9/lock-000000000001", Key{Kind: Stray, Definition: shop, ID: id, File: "lock-000000000001"}},
		"not a backup id":                    {"default/shop/b1/main.sql.zst", foreign},
		"failure with a bad id":              {"default/shop/failures/x.json", foreign},
		"failure not json":                   {"default/shop/failures/20261121T103000Z-k3f9.txt", foreign},
		"restore nested":                     {"default/shop/restores/a/20261121T103000Z-k3f9.json", foreign},
		"nested in a backup":                 {"default/shop/20261121T103000Z-k3f9/sub/f", foreign},
		"directory marker":                   {"default/shop/20261121T103000Z-k3f9/", foreign},
		"dot file name":                      {"default/shop/20261121T103000Z-k3f9/..", foreign},
		"empty segment":                      {"default//20261121T103000Z-k3f9/f", foreign},
		"dot-dot definition":                 {"default/../lock-000000000001", foreign},
		"prefix one level too shallow":       {"prod/default/shop/20261121T103000Z-k3f9/main.sql.zst", foreign},
		"lock, prefix one level too shallow": {"prod/default/shop/lock-000000000001", foreign},
		"prefix one level too deep":          {"shop/20261121T103000Z-k3f9/main.sql.zst", foreign},
		"definition directory":               {"default/shop/", foreign},
		"top-level file":                     {"README", foreign},
		"empty":                              {"", foreign},
	}
	for name, tc := range tests {
		got := Parse(tc.key)
		if got != tc.want {
			t.Errorf("%s: Parse(%q) = %+v, want %+v", name, tc.key, got, tc.want)
		}
		if got.Kind != Foreign && got.String() != tc.key {
			t.Errorf("%s: Parse(%q) composes back to %q", name, tc.key, got.String())
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		d    Definition
		want string // a part of the error; "" for none
	}{
		"valid":             {shop, ""},
		"empty namespace":   {Definition{"", "shop"}, "namespace is empty"},
		"slash in name":     {Definition{"default", "a/b"}, "contains a slash"},
		"dot-dot namespace": {Definition{"..", "shop"}, "not a directory name"},
	}
	for name, tc := range tests {
		err := tc.d.Validate()
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want %q", name, err, tc.want)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	a, b := NewID(now), NewID(now.Add(time.Second))
	if !ValidID(a) || !ValidID(b) || a >= b || IDSecond(a) != "20261121T103000Z" {
		t.Errorf("NewID = %q, %q: want valid ids sorting by time", a, b)
	}
}

// TestBackupsMayFollow: a listing of a definition may stop at the first key
// past its backup directories. That holds only while backup ids begin with a
// digit and every other entry of a definition with a letter.
func TestBackupsMayFollow(t *testing.T) {
	def := Definition{Namespace: "ns", Name: "db"}
	id := NewID(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	for _, key := range []string{def.Backup(id).ManifestKey(), def.Backup(id).ObjectKey("main", "pgdump", true), def.Dir(), "ns/other/chunks/x"} {
		if !def.BackupsMayFollow(key) {
			t.Errorf("BackupsMayFollow(%q) = false, want true", key)
		}
	}
	others := []string{def.ChunkKey(strings.Repeat("a", ChunkHashDigits), true), def.FailureKey(id), def.RestoreKey("r"),
		def.VerificationKey("v"), def.RestoreTestKey("t"), def.StorageIDKey(), def.OffsiteOwnerKey(), def.LockKey(1)}
	for _, key := range others {
		if def.BackupsMayFollow(key) {
			t.Errorf("BackupsMayFollow(%q) = true: a listing for backups would read on through everything after it", key)
		}
		if k := Parse(key); k.InBackup() {
			t.Errorf("%q parses as in a backup directory", key)
		}
	}
	for _, at := range []time.Time{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		if id := NewID(at); id[0] < '0' || id[0] > '9' {
			t.Errorf("backup id %q does not begin with a digit", id)
		}
	}
}
