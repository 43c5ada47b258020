package layout

import "testing"

// FuzzParse: Parse never panics, and whatever it accepts composes back to
// the key it read, so a caller deleting a parsed key deletes exactly the
// listed one.
func FuzzParse(f *testing.F) {
	for _, k := range []string{
		"default/shop/20261121T103000Z-k3f9/manifest.json",
		"default/shop/20261121T103000Z-k3f9/main.pgdump.zst.age",
		"default/shop/20261121T103000Z-k3f9/ci.sql.zst",
		"default/shop/20261121T103000Z-k3f9/f",
		"default/shop/failures/20261121T103000Z-k3f9.json",
		"default/shop/restores/20261121T103000Z-k3f9.json",
		"default/shop/verifications/20261121T103000Z-k3f9.json",
		"default/shop/restore-tests/20261121T103000Z-k3f9.json",
		"default/shop/lock-000000000001",
		"prod/default/shop/lock-000000000001",
		"default//x/y", "a/b/c/d/e", "",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k := Parse(key)
		if k.Kind == Foreign {
			if k != (Key{}) {
				t.Fatalf("Parse(%q) = %+v: a foreign key carries nothing", key, k)
			}
			return
		}
		if got := k.String(); got != key {
			t.Fatalf("Parse(%q) = %+v, which composes to %q", key, k, got)
		}
	})
}

// FuzzCompose: every key composed from valid parts parses back to those
// parts (Parse(compose(x)) == x): the preconditions the composing methods
// document are enough.
func FuzzCompose(f *testing.F) {
	f.Add(uint8(Manifest), "default", "shop", id, "", "", false, "", uint64(0))
	f.Add(uint8(Object), "default", "shop", id, "main", "pgdump", true, "", uint64(0))
	f.Add(uint8(Stray), "default", "shop", id, "", "", false, "notes.txt", uint64(0))
	f.Add(uint8(Failure), "default", "shop", id, "", "", false, "", uint64(0))
	f.Add(uint8(Restore), "default", "shop", id, "", "", false, "", uint64(0))
	f.Add(uint8(Lock), "default", "shop", "", "", "", false, "", uint64(7))
	f.Add(uint8(Verification), "default", "shop", id, "", "", false, "", uint64(0))
	f.Add(uint8(RestoreTest), "default", "shop", id, "", "", false, "", uint64(0))
	f.Fuzz(func(t *testing.T, kind uint8, ns, name, id, target, ext string, enc bool, file string, gen uint64) {
		x := Key{Kind: Kind(kind), Definition: Definition{ns, name}}
		switch x.Kind {
		case Manifest, Failure, Restore, Verification, RestoreTest:
			x.ID = id
		case Object:
			x.ID, x.Target, x.Ext, x.Encrypted = id, target, ext, enc
			if !ValidTarget(target) || !validExt(ext) {
				return
			}
		case Stray:
			x.ID, x.File = id, file
			if p := Parse(x.Backup().FileKey(file)); p.Kind != Stray {
				return // a file name that is the manifest, an object, or not a name
			}
		case Lock:
			x.Generation = gen
			if gen == 0 || gen > MaxGeneration {
				return
			}
		default:
			return
		}
		if x.Definition.Validate() != nil || (x.Kind != Lock && !ValidID(x.ID)) {
			return
		}
		if got := Parse(x.String()); got != x {
			t.Fatalf("Parse(%q) = %+v, want %+v", x.String(), got, x)
		}
	})
}
