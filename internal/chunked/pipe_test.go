package chunked

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestPipeCarriesTheStream(t *testing.T) {
	data := noisy(9, 5<<20+123)
	p := newPipe()
	go func() {
		// Writes of odd sizes, some larger than the pipe.
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := min(len(rest), []int{1, 32 << 10, 3 << 20, 777}[i%4])
			if _, err := p.Write(rest[:n]); err != nil {
				p.CloseWrite(err)
				return
			}
			rest = rest[n:]
		}
		p.CloseWrite(nil)
	}()
	got, err := io.ReadAll(iotest.HalfReader(p))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d of %d bytes, equal %v, err %v", len(got), len(data), bytes.Equal(got, data), err)
	}
}

func TestPipeErrors(t *testing.T) {
	dumpFailed := errors.New("pg_dump: connection lost")
	p := newPipe()
	go func() {
		p.Write([]byte("partial"))
		p.CloseWrite(dumpFailed)
	}()
	got, err := io.ReadAll(p)
	if string(got) != "partial" || !errors.Is(err, dumpFailed) {
		t.Fatalf("after the writer failed: %q, %v; want the buffered bytes, then its error", got, err)
	}

	chunkerFailed := errors.New("upload failed")
	p = newPipe()
	done := make(chan error, 1)
	go func() {
		_, err := p.Write(make([]byte, 3*pipeSize)) // blocks: nobody reads
		done <- err
	}()
	p.CloseRead(chunkerFailed)
	if err := <-done; !errors.Is(err, chunkerFailed) {
		t.Fatalf("a write blocked on a full pipe got %v when the reader closed; want its error", err)
	}
	if _, err := p.Read(make([]byte, 10)); err == nil {
		t.Fatal("a read after CloseRead succeeded")
	}
}
