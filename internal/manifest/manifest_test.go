package manifest

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

func validManifest() *Manifest {
	t0 := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	return &Manifest{
		FormatVersion: FormatVersion, ID: "20261121T103000Z-k3f9", Namespace: "default", Definition: "shop",
		Status: phase.Completed, StartTime: t0, EndTime: t0.Add(time.Minute), Labels: []string{},
		StartSkew: Duration(3 * time.Millisecond), Compression: "zstd",
		Targets: []Target{{Name: "main", Engine: "postgres", Object: "default/shop/20261121T103000Z-k3f9/main.pgdump.zst",
			SHA256: strings.Repeat("a", 64), PlainSHA256: strings.Repeat("b", 64), Size: 10, PlainSize: 20}},
	}
}

// chunked is a valid format 2 manifest of two chunks.
func chunked() *Manifest {
	m := validManifest()
	m.FormatVersion = FormatChunked
	m.Chunking = &Chunking{Chunker: "restic/chunker", Hash: "hmac-sha256", Dir: "default/shop/chunks/", Suffix: ".zst"}
	m.Targets[0].Object, m.Targets[0].SHA256 = "default/shop/chunks/", ""
	m.Targets[0].Chunks = []Chunk{{Hash: strings.Repeat("c", 64), Size: 12, StoredSize: 6}, {Hash: strings.Repeat("d", 64), Size: 8, StoredSize: 4}}
	return m
}

func TestRoundTripChunked(t *testing.T) {
	t.Parallel()
	m := chunked()
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Targets, m.Targets) || *got.Chunking != *m.Chunking {
		t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, got)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	m := validManifest()
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || got.StartSkew != m.StartSkew || !reflect.DeepEqual(got.Targets[0], m.Targets[0]) || !got.StartTime.Equal(m.StartTime) {
		t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, got)
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		mutate func(*Manifest)
		want   string
	}{
		"newer format":              {func(m *Manifest) { m.FormatVersion = newestFormat + 1 }, "newer than this coffer"},
		"chunks in format 1":        {func(m *Manifest) { m.Targets[0].Chunks = chunked().Targets[0].Chunks }, "chunks in a format 1"},
		"format 2 without chunking": {func(m *Manifest) { *m = *chunked(); m.Chunking = nil }, "chunking is required"},
		"chunk with a bad hash":     {func(m *Manifest) { *m = *chunked(); m.Targets[0].Chunks[1].Hash = "../x" }, "chunks[1]"},
		"chunk of no bytes":         {func(m *Manifest) { *m = *chunked(); m.Targets[0].Chunks[0].Size = 0 }, "chunks[0]"},
		"chunks not adding up":      {func(m *Manifest) { *m = *chunked(); m.Targets[0].PlainSize++ }, "add up to"},
		"bad id":                    {func(m *Manifest) { m.ID = "../../etc" }, "not a backup id"},
		"no targets":                {func(m *Manifest) { m.Targets = nil }, "no targets"},
		"bad checksum":              {func(m *Manifest) { m.Targets[0].SHA256 = "xyz" }, "64 hex digits"},
		"unknown state":             {func(m *Manifest) { m.Status = "Maybe" }, "status"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := validManifest()
			tc.mutate(m)
			data := []byte(mustJSON(t, m))
			_, err := Decode(data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func mustJSON(t *testing.T, m *Manifest) string {
	t.Helper()
	// Encode validates; bypass it to produce deliberately bad input.
	type raw Manifest
	b, err := jsonMarshal((*raw)(m))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func FuzzDecode(f *testing.F) {
	data, _ := Encode(validManifest())
	f.Add(data)
	f.Add([]byte(`{"formatVersion":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes must validate and re-encode.
		if _, err := Encode(m); err != nil {
			t.Fatalf("decoded manifest does not re-encode: %v", err)
		}
	})
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		json   string
		manual bool
	}{
		"written before triggers were recorded": {``, false},
		"scheduled":                             {`"trigger": "schedule",`, false},
		"manual":                                {`"trigger": "manual",`, true},
		"unknown counts as scheduled":           {`"trigger": "webhook",`, false},
	}
	base, err := Encode(validManifest())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			data := strings.Replace(string(base), `"labels": [],`, `"labels": [],`+tc.json, 1)
			m, err := Decode([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if m.Manual() != tc.manual {
				t.Errorf("Manual() = %v, want %v", m.Manual(), tc.manual)
			}
		})
	}
}

func TestReadAllRefusesOversize(t *testing.T) {
	data, err := ReadAll(io.LimitReader(zeros{}, MaxSize))
	if err != nil || len(data) != MaxSize {
		t.Fatalf("a manifest of exactly MaxSize: %d bytes, %v", len(data), err)
	}
	_, err = ReadAll(io.LimitReader(zeros{}, MaxSize+1))
	if err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Fatalf("one byte over MaxSize: %v; want an error naming the limit", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
