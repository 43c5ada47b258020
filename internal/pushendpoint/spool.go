package pushendpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// spool holds one pushed file whose size was not announced, until it can
// be written to a tar stream (whose entry header needs the size first). The
// first limit bytes stay in memory; a larger file goes to a 0600 temporary
// file in dir, removed by close.
type spool struct {
	limit int64
	dir   string
	mem   []byte
	file  *os.File
	size  int64
}

// spoolChunk is how much a spool reads at a time, and its first allocation.
const spoolChunk = 64 << 10

// fill reads r to its end.
func (s *spool) fill(r io.Reader) error {
	for s.file == nil {
		if int64(len(s.mem)) == s.limit {
			// Full: one more byte decides between memory and disk.
			var one [1]byte
			n, err := io.ReadFull(r, one[:])
			if n == 0 {
				return ignoreEOF(err)
			}
			if err := s.spill(); err != nil {
				return err
			}
			if _, err := s.file.Write(one[:]); err != nil {
				return err
			}
			s.size++
			break
		}
		if len(s.mem) == cap(s.mem) {
			s.grow()
		}
		n, err := r.Read(s.mem[len(s.mem):cap(s.mem)])
		s.mem = s.mem[:len(s.mem)+n]
		s.size += int64(n)
		if err != nil {
			return ignoreEOF(err)
		}
	}
	n, err := io.Copy(s.file, r)
	s.size += n
	return err
}

// grow doubles the buffer, never beyond limit.
func (s *spool) grow() {
	c := max(int64(cap(s.mem))*2, spoolChunk)
	c = min(c, s.limit)
	grown := make([]byte, len(s.mem), c)
	copy(grown, s.mem)
	s.mem = grown
}

// spill moves what is in memory to a new temporary file.
func (s *spool) spill() error {
	f, err := os.CreateTemp(s.dir, "coffer-push-*")
	if err != nil {
		return fmt.Errorf("spooling a pushed file to disk: %w", err)
	}
	s.file = f
	if _, err := f.Write(s.mem); err != nil {
		return fmt.Errorf("spooling a pushed file to disk: %w", err)
	}
	s.mem = nil
	return nil
}

// content reads the file from its start.
func (s *spool) content() (io.Reader, error) {
	if s.file == nil {
		return bytes.NewReader(s.mem), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.LimitReader(s.file, s.size), nil
}

// inMemory is the content when it never left memory.
func (s *spool) inMemory() ([]byte, bool) { return s.mem, s.file == nil }

func (s *spool) close() {
	if s.file != nil {
		_ = s.file.Close()
		_ = os.Remove(s.file.Name())
	}
	s.mem = nil
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
