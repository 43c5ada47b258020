package zframe

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// sizes cross every boundary of the raw frame's header and blocks.
var sizes = []int{0, 1, 255, 256, 65791, 65792, 65793, maxBlock - 1, maxBlock, maxBlock + 1, 4<<20 + 5}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// zstdCLI decodes frame with the zstd command, as a restore by hand does.
func zstdCLI(t *testing.T, frame []byte) ([]byte, error) {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		t.Fatal("zstd is needed (hack/deps.sh installs it)")
	}
	cmd := exec.Command("zstd", "-d", "-c", "-q")
	cmd.Stdin = bytes.NewReader(frame)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, &cliError{err: err, stderr: errb.String()}
	}
	return out, nil
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

func TestRawFrameDecodes(t *testing.T) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, n := range sizes {
		for _, checksum := range []bool{false, true} {
			src := randomBytes(n)
			e, err := NewEncoder(None, checksum)
			if err != nil {
				t.Fatal(err)
			}
			frame := e.EncodeAll(src, []byte("prefix"))
			if !bytes.HasPrefix(frame, []byte("prefix")) {
				t.Fatalf("%d bytes: EncodeAll did not append to dst", n)
			}
			frame = frame[len("prefix"):]
			if len(frame) > Bound(n) {
				t.Errorf("%d bytes: frame of %d bytes is over Bound %d", n, len(frame), Bound(n))
			}
			got, err := dec.DecodeAll(frame, nil)
			if err != nil || !bytes.Equal(got, src) {
				t.Fatalf("%d bytes, checksum %v: decoded %d bytes, err %v", n, checksum, len(got), err)
			}
			if got, err := zstdCLI(t, frame); err != nil || !bytes.Equal(got, src) {
				t.Fatalf("%d bytes, checksum %v: zstd -d gave %d bytes, err %v", n, checksum, len(got), err)
			}
		}
	}
}

// A changed byte of a frame with its checksum is found by both decoders.
func TestRawFrameChecksumCatchesChange(t *testing.T) {
	src := randomBytes(300 << 10)
	e, _ := NewEncoder(None, true)
	frame := e.EncodeAll(src, nil)
	frame[len(frame)/2] ^= 1
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	if _, err := dec.DecodeAll(frame, nil); err == nil {
		t.Error("zstd package: a changed byte was not found")
	}
	if _, err := zstdCLI(t, frame); err == nil {
		t.Error("zstd -d: a changed byte was not found")
	}
}

func TestRawStream(t *testing.T) {
	for _, n := range sizes {
		for _, step := range []int{1000, maxBlock, 300 << 10} {
			if n > 1<<20 && step == 1000 {
				continue
			}
			src := randomBytes(n)
			var out bytes.Buffer
			w, err := NewStream(&out, None)
			if err != nil {
				t.Fatal(err)
			}
			for p := src; len(p) > 0; {
				k := min(step, len(p))
				if m, err := w.Write(p[:k]); err != nil || m != k {
					t.Fatalf("write: %d, %v", m, err)
				}
				p = p[k:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := w.Write([]byte("x")); err == nil {
				t.Fatal("a write after Close was taken")
			}
			r, err := zstd.NewReader(bytes.NewReader(out.Bytes()), zstd.WithDecoderLowmem(true))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, src) {
				t.Fatalf("%d bytes in writes of %d: decoded %d bytes, err %v", n, step, len(got), err)
			}
			if got, err := zstdCLI(t, out.Bytes()); err != nil || !bytes.Equal(got, src) {
				t.Fatalf("%d bytes in writes of %d: zstd -d gave %d bytes, err %v", n, step, len(got), err)
			}
		}
	}
}

// Every level makes a frame both decoders read; none stores the bytes as
// they are, the others fewer of them for text that repeats.
func TestLevels(t *testing.T) {
	src := []byte(strings.Repeat("coffer,42,2026-12-01 01:02:03,some text that repeats\n", 20000))
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	for _, name := range []string{"", "fastest", "default", "better", "best", "none"} {
		l, err := ParseLevel(name)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEncoder(l, true)
		if err != nil {
			t.Fatal(err)
		}
		frame := e.EncodeAll(src, nil)
		e.Close()
		if got, err := dec.DecodeAll(frame, nil); err != nil || !bytes.Equal(got, src) {
			t.Fatalf("level %q: decoded %d bytes, err %v", name, len(got), err)
		}
		var stream bytes.Buffer
		w, _ := NewStream(&stream, l)
		_, _ = w.Write(src)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := zstdCLI(t, stream.Bytes()); err != nil || !bytes.Equal(got, src) {
			t.Fatalf("level %q stream: zstd -d gave %d bytes, err %v", name, len(got), err)
		}
		switch compressed := len(frame) < len(src)/10; {
		case l == None && compressed, l != None && !compressed:
			t.Errorf("level %q: %d bytes became %d", name, len(src), len(frame))
		}
	}
}

func TestParseLevel(t *testing.T) {
	if l, err := ParseLevel(""); err != nil || l != Fastest {
		t.Errorf(`"" is %v, %v; want fastest`, l, err)
	}
	if l, err := ParseLevel("none"); err != nil || l != None || l.String() != "none" {
		t.Errorf(`"none" is %v, %v`, l, err)
	}
	_, err := ParseLevel("max")
	if err == nil || err.Error() != `"max" is not one of fastest, default, better, best, none` {
		t.Errorf("max: %v", err)
	}
}
