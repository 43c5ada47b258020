package redis

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, newHarness())
}

// TestCRC checks the CRC against Redis's own test vector.
func TestCRC(t *testing.T) {
	if got := crcUpdate(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Errorf("crc64(123456789) = %x, want e9c6d914c4b8d9ca", got)
	}
	if got := crcUpdate(crcUpdate(0, []byte("1234")), []byte("56789")); got != 0xe9c6d914c4b8d9ca {
		t.Errorf("crc64 in two parts = %x", got)
	}
}

// minimalRDB is an empty snapshot: magic, version, EOF opcode, checksum.
func minimalRDB(version string) []byte {
	b := append([]byte("REDIS"+version), rdbEOF)
	if version >= "0005" {
		b = binary.LittleEndian.AppendUint64(b, crcUpdate(0, b))
	}
	return b
}

func TestRDBCheck(t *testing.T) {
	good := minimalRDB("0010")
	damaged := bytes.Clone(good)
	damaged[len(damaged)-1] ^= 1
	unchecked := append(bytes.Clone(good[:len(good)-8]), make([]byte, 8)...)
	tests := map[string]struct {
		data    []byte
		wantErr string
	}{
		"good":               {data: good},
		"old version":        {data: minimalRDB("0004")},
		"checksum disabled":  {data: unchecked},
		"damaged":            {data: damaged, wantErr: "damaged"},
		"truncated":          {data: good[:len(good)-3], wantErr: "truncated"},
		"not rdb":            {data: []byte("HELLO WORLD, no snapshot"), wantErr: "not an RDB"},
		"empty":              {data: nil, wantErr: "not an RDB"},
		"cut before the end": {data: append([]byte("REDIS0010"), bytes.Repeat([]byte{1}, 30)...), wantErr: "truncated"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, size := range []int{1, 3, 8, 1000} { // how the stream is cut into writes
				c := &rdbCheck{w: io.Discard}
				var err error
				for rest := tc.data; len(rest) > 0 && err == nil; rest = rest[min(size, len(rest)):] {
					_, err = c.Write(rest[:min(size, len(rest))])
				}
				if err == nil {
					err = c.finish()
				}
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("writes of %d: %v", size, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Fatalf("writes of %d: error = %v, want %q", size, err, tc.wantErr)
				}
			}
		})
	}
}

// fakeMaster answers like a master and sends the snapshot in tiny pieces
// with keepalive newlines before it, in the EOF-marker or length form.
func fakeMaster(t *testing.T, snapshot []byte, eofForm bool, cutAt int) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r := bufio.NewReader(nc)
		for {
			cmd, err := readReply(r)
			if err != nil {
				return
			}
			switch strings.ToUpper(string(cmd.elems[0].str)) {
			case "INFO":
				fmt.Fprintf(nc, "$22\r\nredis_version:99.0.0\r\n\r\n")
			case "PSYNC":
				mark := strings.Repeat("m", eofMarkLen)
				head := "+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n\n\n"
				payload := snapshot
				if eofForm {
					head += "$EOF:" + mark + "\r\n"
					payload = append(bytes.Clone(snapshot), mark...)
				} else {
					head += fmt.Sprintf("$%d\r\n", len(snapshot))
				}
				stream := append([]byte(head), payload...)
				if cutAt > 0 {
					stream = stream[:len(head)+cutAt]
				}
				for len(stream) > 0 {
					n := min(7, len(stream))
					if _, err := nc.Write(stream[:n]); err != nil {
						return
					}
					stream = stream[n:]
				}
				return
			default:
				fmt.Fprintf(nc, "+OK\r\n")
			}
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestSnapshotForms(t *testing.T) {
	snapshot := minimalRDB("0011")
	tests := map[string]struct {
		eof     bool
		cut     int
		wantErr string
	}{
		"length":            {},
		"eof marker":        {eof: true},
		"length cut":        {cut: 5, wantErr: "snapshot cut after 5 of"},
		"eof marker cut":    {eof: true, cut: 12, wantErr: "before its end marker"},
		"eof marker absent": {eof: true, cut: len(snapshot), wantErr: "before its end marker"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			port := fakeMaster(t, snapshot, tc.eof, tc.cut)
			var out bytes.Buffer
			res, err := New().Backup(context.Background(), engineTarget("fake", port, "pw"), &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `"fake"`) {
					t.Fatalf("Backup error = %v, want %q naming the target", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Backup: %v", err)
			}
			if !bytes.Equal(out.Bytes(), snapshot) || res.ServerVersion != "99.0.0" {
				t.Errorf("got %q (server %q), want %q", out.Bytes(), res.ServerVersion, snapshot)
			}
		})
	}
}

// TestRestoreKeepsNoPartialFile: a failed restore leaves nothing behind.
func TestRestoreKeepsNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	err := New().Restore(context.Background(), engineTarget("r", 1, ""), strings.NewReader("REDIS0010garbage"),
		engine.RestoreOptions{IntoPath: dir})
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("Restore of a damaged snapshot: error = %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	err = New().Restore(context.Background(), engineTarget("r", 1, ""), strings.NewReader(""), engine.RestoreOptions{})
	if !errors.Is(err, errNoPath) || !strings.Contains(err.Error(), `"r"`) {
		t.Errorf("Restore without a path: error = %v", err)
	}
}

// TestACLUser backs up as a user with only the rights docs/engines.md
// names: replication and INFO.
func TestACLUser(t *testing.T) {
	s := startServer(t, serverOpts{password: "admin-pass", diskless: true})
	fill(t, s)
	s.conn(t).do("ACL", "SETUSER", "coffer", "on", ">backup pass", "+psync", "+replconf", "+info")
	target := engineTarget("redis-acl", s.port, "backup pass")
	target.Spec.Redis.Username = "coffer"
	var out bytes.Buffer
	res, err := New().Backup(context.Background(), target, &out)
	if err != nil {
		t.Fatalf("Backup as the restricted user: %v", err)
	}
	if res.ServerVersion == "" || out.Len() < enginetest.MinDumpSize {
		t.Errorf("server %q, %d bytes", res.ServerVersion, out.Len())
	}
	s.conn(t).do("ACL", "SETUSER", "coffer", "-psync")
	_, err = New().Backup(context.Background(), target, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "NOPERM") || !strings.Contains(err.Error(), `"redis-acl"`) {
		t.Errorf("Backup without +psync: error = %v", err)
	}
}
