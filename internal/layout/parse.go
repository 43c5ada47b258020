package layout

import (
	"strconv"
	"strings"
)

// Kind classifies a key.
type Kind uint8

// Kinds of keys. Foreign is the zero value, so a Key nobody parsed is
// foreign: callers that act on keys act only on kinds they expect.
const (
	// Foreign: not a key of the layout (another tool's file, a key one
	// level off because a prefix is misconfigured, a malformed name).
	// Nothing in Coffer deletes a foreign key.
	Foreign Kind = iota
	// Manifest: <ns>/<def>/<backup-id>/manifest.json.
	Manifest
	// Object: <ns>/<def>/<backup-id>/<target>.<ext>.zst[.age].
	Object
	// Stray: any other file directly in a backup directory. No Coffer
	// writes one, but the directory is Coffer's, so the file goes with its
	// backup when the backup is deleted or swept.
	Stray
	// Failure: <ns>/<def>/failures/<backup-id>.json.
	Failure
	// Restore: <ns>/<def>/restores/<restore-id>.json.
	Restore
	// Lock: <ns>/<def>/lock-<12-digit generation, not zero>.
	Lock
	// Verification: <ns>/<def>/verifications/<run-id>.json.
	Verification
	// RestoreTest: <ns>/<def>/restore-tests/<run-id>.json.
	RestoreTest
	// Chunk: <ns>/<def>/chunks/<64 hex digits>.zst[.age], a chunk of
	// format version 2. Only the chunk sweep deletes one.
	Chunk
)

var kindNames = [...]string{"foreign", "manifest", "object", "stray", "failure", "restore", "lock", "verification", "restore-test", "chunk"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Key is a parsed storage key. Which fields are set depends on Kind.
type Key struct {
	Kind       Kind
	Definition Definition
	// ID is the backup id (Manifest, Object, Stray, Failure), the restore
	// id (Restore) or the run id (Verification, RestoreTest).
	ID string
	// Target, Ext and Encrypted describe an Object; Hash and Encrypted a
	// Chunk.
	Target, Ext string
	Encrypted   bool
	Hash        string
	// File is a Stray file's name.
	File string
	// Generation is a Lock's generation.
	Generation uint64
}

// InBackup reports whether the key is a file of a backup directory: what a
// backup's deletion, and the orphan sweeper, remove together.
func (k Key) InBackup() bool {
	return k.Kind == Manifest || k.Kind == Object || k.Kind == Stray
}

// Backup is the backup directory of an InBackup key.
func (k Key) Backup() Backup { return k.Definition.Backup(k.ID) }

// String composes the key; a Foreign key has none and is "".
func (k Key) String() string {
	switch k.Kind {
	case Manifest:
		return k.Backup().ManifestKey()
	case Object:
		return k.Backup().ObjectKey(k.Target, k.Ext, k.Encrypted)
	case Stray:
		return k.Backup().FileKey(k.File)
	case Failure:
		return k.Definition.FailureKey(k.ID)
	case Restore:
		return k.Definition.RestoreKey(k.ID)
	case Lock:
		return k.Definition.LockKey(k.Generation)
	case Verification:
		return k.Definition.VerificationKey(k.ID)
	case RestoreTest:
		return k.Definition.RestoreTestKey(k.ID)
	case Chunk:
		return k.Definition.ChunkKey(k.Hash, k.Encrypted)
	}
	return ""
}

// Parse classifies a key. It is strict, so that a key it accepts composes
// back to exactly itself (Parse(key).String() == key) and a layout read at
// the wrong depth — a storage prefix off by one level — yields Foreign keys
// rather than misread ones: a definition directory has backup ids, the four
// record directories and lock objects in it, and nothing else is Coffer's.
func Parse(key string) Key {
	parts := strings.Split(key, "/")
	if len(parts) < 3 || len(parts) > 4 {
		return Key{}
	}
	def := Definition{Namespace: parts[0], Name: parts[1]}
	if def.Validate() != nil {
		return Key{}
	}
	if len(parts) == 3 {
		return parseLock(def, parts[2])
	}
	dir, file := parts[2], parts[3]
	switch {
	case dir == FailuresDir:
		return parseRecord(def, Failure, file)
	case dir == RestoresDir:
		return parseRecord(def, Restore, file)
	case dir == VerificationsDir:
		return parseRecord(def, Verification, file)
	case dir == RestoreTestsDir:
		return parseRecord(def, RestoreTest, file)
	case dir == ChunksDir:
		return parseChunk(def, file)
	case ValidID(dir):
		return parseBackupFile(def.Backup(dir), file)
	}
	return Key{}
}

func parseLock(def Definition, name string) Key {
	digits, ok := strings.CutPrefix(name, lockPrefix)
	if !ok || len(digits) != GenerationDigits || strings.Trim(digits, "0123456789") != "" {
		return Key{}
	}
	gen, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || gen == 0 {
		return Key{}
	}
	return Key{Kind: Lock, Definition: def, Generation: gen}
}

func parseRecord(def Definition, kind Kind, name string) Key {
	id, ok := strings.CutSuffix(name, recordSuffix)
	if !ok || !ValidID(id) {
		return Key{}
	}
	return Key{Kind: kind, Definition: def, ID: id}
}

func parseBackupFile(b Backup, name string) Key {
	k := Key{Definition: b.Definition, ID: b.ID}
	switch name {
	case "", ".", "..":
		return Key{} // a directory marker or a name no store accepts
	case ManifestFile:
		k.Kind = Manifest
		return k
	}
	rest, encrypted := strings.CutSuffix(name, EncryptedSuffix)
	rest, zst := strings.CutSuffix(rest, ObjectSuffix)
	target, ext, dot := strings.Cut(rest, ".")
	if zst && dot && ValidTarget(target) && validExt(ext) {
		k.Kind, k.Target, k.Ext, k.Encrypted = Object, target, ext, encrypted
		return k
	}
	k.Kind, k.File = Stray, name
	return k
}

func parseChunk(def Definition, name string) Key {
	rest, encrypted := strings.CutSuffix(name, EncryptedSuffix)
	hash, zst := strings.CutSuffix(rest, ObjectSuffix)
	if !zst || !ValidChunkHash(hash) {
		return Key{}
	}
	return Key{Kind: Chunk, Definition: def, Hash: hash, Encrypted: encrypted}
}
