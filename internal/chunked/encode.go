package chunked

import (
	"fmt"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/zframe"
)

// encoder compresses and encrypts a backup's new chunks into buffers it
// reuses: a new buffer per chunk and stage is zeroed by the allocator, and
// that alone cost about a tenth of a first backup's CPU.
type encoder struct {
	zw         *zframe.Encoder
	recipients []age.Recipient
	frames     bufPool // zstd frames, back as soon as age has sealed them
	stored     bufPool // what is uploaded, back once the store holds it
}

// newEncoder writes zstd's frame checksum (xxHash64 of the plain bytes)
// only into chunks stored in clear: age's authentication already fails on
// any changed byte of an encrypted chunk, by hand (`age -d`) as in Coffer,
// and the keyed name checks its plain bytes besides. Computing the checksum
// cost 1.6 % of a first backup's CPU, and verifying it 2 % of a restore's.
func newEncoder(level zframe.Level, recipients []age.Recipient) (*encoder, error) {
	zw, err := zframe.NewEncoder(level, len(recipients) == 0)
	if err != nil {
		return nil, err
	}
	return &encoder{zw: zw, recipients: recipients}, nil
}

func (e *encoder) close() { e.zw.Close() }

// encode returns plain's stored form — one zstd frame, age-encrypted when
// there are recipients (with zstd's checksum when there are none): what
// `age -d | zstd -d` reverses — in a buffer to hand back with release once
// it is no longer read.
func (e *encoder) encode(plain []byte) ([]byte, error) {
	if len(e.recipients) == 0 {
		return e.zw.EncodeAll(plain, e.stored.get(zframe.Bound(len(plain)))), nil
	}
	frame := e.zw.EncodeAll(plain, e.frames.get(zframe.Bound(len(plain))))
	defer e.frames.put(frame)
	return seal(frame, e.recipients, e.stored.get(len(frame)+sealOverhead(len(frame), len(e.recipients))))
}

func (e *encoder) release(stored []byte) { e.stored.put(stored) }

// seal encrypts frame to recipients, appending to dst.
func seal(frame []byte, recipients []age.Recipient, dst []byte) ([]byte, error) {
	out := &appender{b: dst}
	aw, err := age.Encrypt(out, recipients...)
	if err != nil {
		return nil, fmt.Errorf("starting age encryption: %w", err)
	}
	if _, err := aw.Write(frame); err != nil {
		return nil, fmt.Errorf("encrypting a chunk: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("finishing a chunk's age stream: %w", err)
	}
	return out.b, nil
}

// sealOverhead is room for age's header (a stanza per recipient) and its
// 16-byte tag per 64 KiB.
func sealOverhead(n, recipients int) int { return 256 + 256*recipients + 16*(n/65536+1) }

type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }
