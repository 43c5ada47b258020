package pushendpoint

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"testing"
)

// TestSpool: what fits stays in memory, never in a buffer larger than the
// limit; what does not goes to one temporary file, removed by close.
func TestSpool(t *testing.T) {
	const limit = 100_000
	tests := map[string]struct {
		size   int
		onDisk bool
	}{
		"empty":         {0, false},
		"one byte":      {1, false},
		"just under":    {limit - 1, false},
		"exactly":       {limit, false},
		"one over":      {limit + 1, true},
		"several times": {3*limit + 17, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			content := make([]byte, tc.size)
			_, _ = rand.Read(content)
			sp := &spool{limit: limit, dir: dir}
			// iotest-like small reads exercise the growth path.
			if err := sp.fill(io.MultiReader(bytes.NewReader(content[:tc.size/2]), bytes.NewReader(content[tc.size/2:]))); err != nil {
				t.Fatal(err)
			}
			if sp.size != int64(tc.size) {
				t.Errorf("size %d, want %d", sp.size, tc.size)
			}
			if cap(sp.mem) > limit {
				t.Errorf("buffer of %d bytes, over the limit of %d", cap(sp.mem), limit)
			}
			files, _ := os.ReadDir(dir)
			if (len(files) == 1) != tc.onDisk || len(files) > 1 {
				t.Errorf("%d files on disk, want on disk: %v", len(files), tc.onDisk)
			}
			r, err := sp.content()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("content differs (%d bytes, %v)", len(got), err)
			}
			if files, _ := os.ReadDir(dir); len(files) == 1 {
				if info, _ := files[0].Info(); info.Mode().Perm() != 0o600 {
					t.Errorf("spool file mode %v, want 0600", info.Mode().Perm())
				}
			}
			sp.close()
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("close left %d files", len(files))
			}
		})
	}
}
