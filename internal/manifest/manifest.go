// Package manifest defines manifest.json, the record that makes a backup
// exist. It is written last, after every object of the backup is stored: a
// backup without a manifest is not a backup. The format is documented in
// docs/format.md; FormatVersion changes when a reader would misread it.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
)

// FormatVersion is the version written by default: one stored object per
// target.
const FormatVersion = 1

// FormatChunked is format version 2: each target is a list of chunks
// (Target.Chunks) shared by the definition's backups. It is the newest
// version this package reads.
const FormatChunked = 2

// newestFormat is the newest version Decode accepts.
const newestFormat = FormatChunked

// Manifest describes one backup set.
type Manifest struct {
	FormatVersion int    `json:"formatVersion"`
	ID            string `json:"id"`
	Namespace     string `json:"namespace"`
	Definition    string `json:"definition"`
	// Status is phase.Completed or phase.Failed. Only Completed backups
	// are written today; the field exists so readers never have to guess.
	Status    phase.Phase `json:"status"`
	StartTime time.Time   `json:"startTime"`
	EndTime   time.Time   `json:"endTime"`
	// Labels are user labels such as "pinned"; time labels are derived.
	Labels []string `json:"labels"`
	// Trigger is how the backup was started: "schedule" or "manual" (on
	// demand). Absent in manifests written before it was recorded, which
	// count as scheduled; see Manual.
	Trigger Trigger `json:"trigger,omitempty"`
	// RequestKey is the key of the on-demand request that started the
	// backup (the Backup object's uid when the controller asked), so a
	// repeated request finds this backup instead of starting another.
	// Absent for scheduled backups and in older manifests.
	RequestKey string `json:"requestKey,omitempty"`
	// StartSkew is the spread between the first and last target start.
	StartSkew   Duration    `json:"startSkew"`
	Compression string      `json:"compression"`
	Encryption  *Encryption `json:"encryption,omitempty"`
	Tools       Tools       `json:"tools"`
	// Chunking describes how the chunks of a format 2 backup are cut,
	// named and stored; absent in format 1.
	Chunking *Chunking `json:"chunking,omitempty"`
	Targets  []Target  `json:"targets"`

	// summary: the targets' chunk lists were left out (Summary).
	summary bool
}

// Chunking is how a format 2 backup's chunks are cut, named and stored.
type Chunking struct {
	// Chunker is the content-defined chunker: "fastcdc-v1.0.0"
	// (go-cdc-chunkers, keyed Gear table), "restic/chunker" in backups
	// before it. Reading a backup does not depend on it.
	Chunker string `json:"chunker"`
	// MinSize, NormalSize and MaxSize are the chunker's sizes in bytes
	// (absent in backups cut by restic/chunker: 512 KiB, 1 MiB, 8 MiB).
	MinSize    int64 `json:"minSize,omitempty"`
	NormalSize int64 `json:"normalSize,omitempty"`
	MaxSize    int64 `json:"maxSize,omitempty"`
	// Hash names a chunk: "hmac-sha256" of its plain bytes, keyed with the
	// storage's dedup key.
	Hash string `json:"hash"`
	// KeyID identifies the dedup key that named the chunks (not the key).
	KeyID string `json:"keyId,omitempty"`
	// Dir is the key prefix of the chunks and Suffix what follows a
	// chunk's hash: a chunk's key is Dir + hash + Suffix.
	Dir    string `json:"dir"`
	Suffix string `json:"suffix"`
}

// Chunk is one chunk of a format 2 target, in stream order.
type Chunk struct {
	// Hash is the chunk's name: the keyed hash of its plain bytes, hex.
	Hash string `json:"hash"`
	// Size is of the plain bytes, StoredSize of the stored object.
	Size       int64 `json:"size"`
	StoredSize int64 `json:"storedSize"`
}

// Trigger is how a backup was started.
type Trigger string

// Triggers. Retention keeps manual backups by their own rule
// (docs/retention.md).
const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
)

// Manual reports whether the backup was taken on demand. Anything but
// "manual", including an absent trigger, counts as scheduled: that is what
// every backup was before triggers were recorded.
func (m *Manifest) Manual() bool { return m.Trigger == TriggerManual }

// Encryption records how objects were encrypted.
type Encryption struct {
	// Type is "age".
	Type string `json:"type"`
	// Recipients are the public keys the objects were encrypted to.
	Recipients []string `json:"recipients"`
}

// Tools records the writer's version.
type Tools struct {
	Coffer string `json:"coffer"`
}

// Target is one target's stored object.
type Target struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	// Object is the key of the stored object, relative to the storage prefix.
	Object    string    `json:"object"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
	// Size and SHA256 are of the stored (compressed, encrypted) bytes. In
	// format 2, Size is the sum of the chunks' stored sizes and SHA256 is
	// empty: the chunks' names and the age and zstd checks cover them.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// NewSize (format 2) is the stored size of the chunks this backup
	// uploaded; its other chunks were stored by earlier backups. Absent in
	// format 1, where the whole Size is new, and in format 2 backups written
	// before it was recorded.
	NewSize int64 `json:"newSize,omitempty"`
	// PlainSize and PlainSHA256 are of the dump as the engine produced it.
	PlainSize     int64  `json:"plainSize"`
	PlainSHA256   string `json:"plainSha256"`
	ServerVersion string `json:"serverVersion,omitempty"`
	ToolVersion   string `json:"toolVersion,omitempty"`
	// Source is what was backed up; absent in backups written before it
	// was recorded.
	Source *Source `json:"source,omitempty"`
	// Database holds the source database's properties (database engines).
	Database *DatabaseProperties `json:"database,omitempty"`
	// Contents counts what a file tree's archive holds (filesystem
	// engine), so a restore test can compare what it restored; absent in
	// backups written before it was recorded and for other engines.
	Contents *Contents `json:"contents,omitempty"`
	// Chunks are the target's chunks in stream order (format 2 only; an
	// empty dump has none).
	Chunks []Chunk `json:"chunks,omitempty"`
}

// Contents counts the entries of a file tree's archive: regular files
// (every name, hard links included), directories (the root not counted),
// symbolic links, special files (FIFOs, device nodes) and the bytes of
// the regular files' content (each inode once).
type Contents struct {
	Files       int64 `json:"files"`
	Directories int64 `json:"directories"`
	Symlinks    int64 `json:"symlinks"`
	Special     int64 `json:"special"`
	Bytes       int64 `json:"bytes"`
}

// Source kinds: what a target reads at backup and writes at restore.
const (
	SourceDatabase   = "database"
	SourcePath       = "path"
	SourceVolume     = "volume"
	SourceRepository = "repository"
	SourceServer     = "server"
	SourceCluster    = "cluster"
)

// Source records what a target backed up: its kind (one of the Source*
// constants) and an identity such as "127.0.0.1:5432/shop", "/var/lib/app"
// or "shop/data" (namespace/PVC). Never a secret.
type Source struct {
	Kind     string `json:"kind"`
	Identity string `json:"identity"`
}

// DatabaseProperties are the database-level settings a dump does not carry
// but its data depends on. Empty fields were not recorded or do not apply.
type DatabaseProperties struct {
	// Encoding is PostgreSQL's server encoding (UTF8, SQL_ASCII, LATIN1).
	Encoding string `json:"encoding,omitempty"`
	// Collation and Ctype are PostgreSQL's LC_COLLATE and LC_CTYPE, or
	// MariaDB's default collation (Ctype empty).
	Collation string `json:"collation,omitempty"`
	Ctype     string `json:"ctype,omitempty"`
	// LocaleProvider is PostgreSQL's provider (libc, icu) and ICULocale its
	// ICU locale when the provider is icu.
	LocaleProvider string `json:"localeProvider,omitempty"`
	ICULocale      string `json:"iculocale,omitempty"`
	// Charset is MariaDB's default character set.
	Charset string `json:"charset,omitempty"`
}

// Duration marshals as a Go duration string ("1.5s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

var hexPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Encode serializes m, indented for humans. A manifest over MaxSize is an
// error: committed, it could not be read back.
func Encode(m *Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err == nil && len(data) > MaxSize {
		return nil, fmt.Errorf("backup %s: its manifest would be %d MiB, over the %d MiB coffer reads (%d chunks): split the target", m.ID, len(data)>>20, MaxSize>>20, m.chunkCount())
	}
	return data, err
}

func (m *Manifest) chunkCount() int {
	n := 0
	for _, t := range m.Targets {
		n += len(t.Chunks)
	}
	return n
}

// MaxSize is the largest manifest read: 64 MiB. A format 2 manifest lists
// its chunks at about 110 bytes each, so this holds some 600,000 chunks,
// about 750 GB of dump at 800 chunks per GB; anything larger is refused
// as not a manifest rather than read into memory.
const MaxSize = 64 << 20

// ReadAll reads a manifest object of at most MaxSize bytes; a larger one is
// an error naming the limit (not a truncated manifest that fails to parse).
func ReadAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("the manifest is larger than %d MiB, the most coffer reads", MaxSize>>20)
	}
	return data, nil
}

// Decode parses and validates a manifest. Unknown fields are allowed (a newer
// writer may add some within a format version); a newer format is refused.
func Decode(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	if m.FormatVersion > newestFormat {
		return nil, fmt.Errorf("manifest format %d is newer than this coffer understands (%d): upgrade coffer", m.FormatVersion, newestFormat)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks what readers rely on.
func (m *Manifest) Validate() error {
	var errs []error
	if m.summary {
		errs = append(errs, ErrSummary)
	}
	if m.FormatVersion < 1 {
		errs = append(errs, fmt.Errorf("formatVersion %d is invalid", m.FormatVersion))
	}
	if !layout.ValidID(m.ID) {
		errs = append(errs, fmt.Errorf("id %q is not a backup id", m.ID))
	}
	if m.Status != phase.Completed && m.Status != phase.Failed { // a backup never ends PartiallyFailed
		errs = append(errs, fmt.Errorf("status %q is unknown", m.Status))
	}
	if len(m.Targets) == 0 {
		errs = append(errs, errors.New("no targets"))
	}
	if (m.FormatVersion == FormatChunked) != (m.Chunking != nil) {
		errs = append(errs, fmt.Errorf("formatVersion %d with chunking %v: chunking is required in format %d and only there", m.FormatVersion, m.Chunking != nil, FormatChunked))
	}
	for i, t := range m.Targets {
		errs = append(errs, m.validateTarget(i, t)...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid manifest %q: %w", m.ID, err)
	}
	return nil
}

func (m *Manifest) validateTarget(i int, t Target) []error {
	var errs []error
	if t.Name == "" || t.Object == "" {
		errs = append(errs, fmt.Errorf("targets[%d]: name and object are required", i))
	}
	if (m.FormatVersion != FormatChunked && !hexPattern.MatchString(t.SHA256)) || (!hexPattern.MatchString(t.PlainSHA256) && (m.FormatVersion != FormatChunked || t.PlainSHA256 != "")) {
		errs = append(errs, fmt.Errorf("targets[%d] %q: sha256 and plainSha256 must be 64 hex digits", i, t.Name))
	}
	if t.Size < 0 || t.PlainSize < 0 {
		errs = append(errs, fmt.Errorf("targets[%d] %q: negative size", i, t.Name))
	}
	if m.FormatVersion != FormatChunked {
		if len(t.Chunks) > 0 {
			errs = append(errs, fmt.Errorf("targets[%d] %q: chunks in a format %d manifest", i, t.Name, m.FormatVersion))
		}
		return errs
	}
	var plain, stored int64
	for j, c := range t.Chunks {
		if !layout.ValidChunkHash(c.Hash) || c.Size <= 0 || c.StoredSize <= 0 {
			errs = append(errs, fmt.Errorf("targets[%d] %q: chunks[%d]: hash must be %d hex digits and sizes positive", i, t.Name, j, layout.ChunkHashDigits))
			return errs
		}
		plain, stored = plain+c.Size, stored+c.StoredSize
	}
	if plain != t.PlainSize || stored != t.Size {
		errs = append(errs, fmt.Errorf("targets[%d] %q: chunks add up to %d plain and %d stored bytes, the target says %d and %d", i, t.Name, plain, stored, t.PlainSize, t.Size))
	}
	return errs
}

// Target returns the named target's record, or false.
func (m *Manifest) Target(name string) (Target, bool) {
	for _, t := range m.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}
