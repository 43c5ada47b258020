// Package layout owns the storage layout (docs/format.md): it is the one
// place that composes a storage key and the one place that parses one, so
// the layout can change, or be audited, in one file pair instead of in every
// package that touches storage.
//
//	<namespace>/<definition>/<backup-id>/<target>.<ext>.zst[.age]   a target's stored object
//	<namespace>/<definition>/<backup-id>/manifest.json             written last: the commit point
//	<namespace>/<definition>/failures/<backup-id>.json             a failed attempt
//	<namespace>/<definition>/restores/<restore-id>.json            a restore run by the daemon
//	<namespace>/<definition>/verifications/<run-id>.json          a scheduled verification run
//	<namespace>/<definition>/restore-tests/<run-id>.json          a restore test, written before its scratch databases exist
//	<namespace>/<definition>/lock-<generation>                     single-writer lease
//	<namespace>/<definition>/chunks/<hash>.zst[.age]               a chunk of format version 2, shared by the definition's backups
//
// Keys are relative to the storage's own prefix, which the storage package
// applies; nothing here knows it. Composing does not validate (callers pass
// names their config already validated), while Parse is strict: whatever it
// accepts composes back to the very same key, so a caller that deletes what
// it parsed deletes exactly what it listed.
package layout

import (
	"fmt"
	"strings"
)

// Names of the layout's fixed parts.
const (
	// ManifestFile is a backup directory's commit point: a backup exists
	// only if its directory holds this file.
	ManifestFile = "manifest.json"
	// ObjectSuffix ends every target object: one zstd frame.
	ObjectSuffix = ".zst"
	// EncryptedSuffix follows ObjectSuffix when the storage encrypts.
	EncryptedSuffix = ".age"
	// FailuresDir and RestoresDir hold records beside the backups; neither
	// name can be a backup id, so they never look like backup directories.
	FailuresDir = "failures"
	RestoresDir = "restores"
	// VerificationsDir and RestoreTestsDir hold the records of scheduled
	// verifications and restore tests; like the two above, neither name
	// can be a backup id.
	VerificationsDir = "verifications"
	RestoreTestsDir  = "restore-tests"
	// ChunksDir holds the chunks of format version 2 backups, shared by
	// every backup of the definition; like the record directories, its name
	// cannot be a backup id.
	ChunksDir = "chunks"
	// ChunkHashDigits is the length of a chunk's name: a keyed SHA-256 in
	// lower-case hex.
	ChunkHashDigits = 64
	// recordSuffix ends failure and restore records.
	recordSuffix = ".json"
	// storageIDFile and offsiteOwnerFile sit beside the backups: a storage's
	// id, and which primary an offsite copy belongs to. They parse as
	// Foreign keys, which nothing lists or sweeps.
	storageIDFile    = "storage-id.json"
	offsiteOwnerFile = "offsite-owner.json"
	// lockPrefix starts a lock object's name; GenerationDigits zero-pads the
	// generation so that lock objects sort like numbers.
	lockPrefix       = "lock-"
	GenerationDigits = 12
	// MaxGeneration is the highest generation a lock key can carry in
	// GenerationDigits digits.
	MaxGeneration = 999_999_999_999
)

// Definition is one BackupDefinition's directory: every key of its backups,
// records and lease lives under it.
type Definition struct {
	Namespace, Name string
}

// Validate reports why d cannot name a directory: an empty segment, a slash
// that would shift every key by a level, or a "." or ".." segment that the
// stores refuse. Keys of a valid definition parse back to it.
func (d Definition) Validate() error {
	for _, s := range []struct{ what, v string }{{"namespace", d.Namespace}, {"definition", d.Name}} {
		switch {
		case s.v == "":
			return fmt.Errorf("%s is empty", s.what)
		case strings.Contains(s.v, "/"):
			return fmt.Errorf("%s %q contains a slash", s.what, s.v)
		case s.v == "." || s.v == "..":
			return fmt.Errorf("%s %q is not a directory name", s.what, s.v)
		}
	}
	return nil
}

// String is namespace/name, the way messages name a definition.
func (d Definition) String() string { return d.Namespace + "/" + d.Name }

// Dir is the definition's directory with a trailing slash: the List prefix
// of everything the definition stores.
func (d Definition) Dir() string { return d.String() + "/" }

// BackupsMayFollow reports whether a listing of d.Dir() that has reached key
// can still hold a backup's objects at or after it. Backup ids begin with a
// digit and every other entry of a definition (chunks, records, lock
// objects, the storage id) with a lower-case letter, which every backend
// lists after all digits: a listing for backups stops at the first such
// key, however many chunks follow it.
func (d Definition) BackupsMayFollow(key string) bool {
	rest, ok := strings.CutPrefix(key, d.Dir())
	return !ok || rest == "" || rest[0] <= '9'
}

// Backup is the backup with that id.
func (d Definition) Backup(id string) Backup { return Backup{Definition: d, ID: id} }

// FailuresDir is the List prefix of the failure records.
func (d Definition) FailuresDir() string { return d.Dir() + FailuresDir + "/" }

// FailureKey is the key of the failure record of backup id.
func (d Definition) FailureKey(id string) string { return d.FailuresDir() + id + recordSuffix }

// RestoresDir is the List prefix of the restore records.
func (d Definition) RestoresDir() string { return d.Dir() + RestoresDir + "/" }

// RestoreKey is the key of the restore record of restore id.
func (d Definition) RestoreKey(id string) string { return d.RestoresDir() + id + recordSuffix }

// VerificationsDir is the List prefix of the verification records.
func (d Definition) VerificationsDir() string { return d.Dir() + VerificationsDir + "/" }

// VerificationKey is the key of the record of verification run id.
func (d Definition) VerificationKey(id string) string {
	return d.VerificationsDir() + id + recordSuffix
}

// RestoreTestsDir is the List prefix of the restore test records.
func (d Definition) RestoreTestsDir() string { return d.Dir() + RestoreTestsDir + "/" }

// RestoreTestKey is the key of the record of restore test id. The record
// names the scratch databases of the test before any is created, so what a
// killed runner leaves behind is found, and only that is dropped.
func (d Definition) RestoreTestKey(id string) string { return d.RestoreTestsDir() + id + recordSuffix }

// StorageIDKey is the key of the object that names this definition's
// storage (a random id, written once): the offsite copy records whose
// copy it is by it.
func (d Definition) StorageIDKey() string { return d.Dir() + storageIDFile }

// OffsiteOwnerKey is the key, in an offsite copy, of the object that says
// which primary storage (by its StorageIDKey id) the copy belongs to.
func (d Definition) OffsiteOwnerKey() string { return d.Dir() + offsiteOwnerFile }

// LockPrefix is the List prefix of the lease's lock objects: listing it
// reads the lease without listing every backup.
func (d Definition) LockPrefix() string { return d.Dir() + lockPrefix }

// LockKey is the key of the lock object of generation gen, which must be in
// 1..MaxGeneration to parse back.
func (d Definition) LockKey(gen uint64) string {
	return fmt.Sprintf("%s%0*d", d.LockPrefix(), GenerationDigits, gen)
}

// ChunksDir is the List prefix of the definition's chunks (format 2).
func (d Definition) ChunksDir() string { return d.Dir() + ChunksDir + "/" }

// ChunkKey is the key of the chunk named hash (ChunkHashDigits lower-case
// hex digits): one zstd frame, age-encrypted when encrypted is set.
func (d Definition) ChunkKey(hash string, encrypted bool) string {
	return d.ChunksDir() + hash + ChunkSuffix(encrypted)
}

// ChunkSuffix is what follows a chunk's hash in its key.
func ChunkSuffix(encrypted bool) string {
	if encrypted {
		return ObjectSuffix + EncryptedSuffix
	}
	return ObjectSuffix
}

// Backup is one backup's directory.
type Backup struct {
	Definition Definition
	ID         string
}

// Dir is the backup's directory with a trailing slash: the List prefix of
// its files.
func (b Backup) Dir() string { return b.Definition.Dir() + b.ID + "/" }

// ManifestKey is the key of the backup's manifest.
func (b Backup) ManifestKey() string { return b.Dir() + ManifestFile }

// ObjectKey is the key of a target's stored object. ext is the engine's
// dump format (pgdump, sql, tar, ...); encrypted adds EncryptedSuffix.
func (b Backup) ObjectKey(target, ext string, encrypted bool) string {
	key := b.Dir() + target + "." + ext + ObjectSuffix
	if encrypted {
		key += EncryptedSuffix
	}
	return key
}

// FileKey is the key of any file of the backup's directory by name; it
// exists so that Parse can give back what it read for a Stray file.
func (b Backup) FileKey(name string) string { return b.Dir() + name }
