package postgres

import (
	"bytes"
	"testing"
)

func TestScriptFilter(t *testing.T) {
	in := "SET statement_timeout = 0;\nSET transaction_timeout = 0;\nCOPY public.t (a) FROM stdin;\nSET transaction_timeout = 0;\n\\.\nSET transaction_timeout = 0;\nSELECT 1;"
	want := "SET statement_timeout = 0;\nCOPY public.t (a) FROM stdin;\nSET transaction_timeout = 0;\n\\.\nSELECT 1;"
	var out bytes.Buffer
	f := &scriptFilter{w: &out}
	// Written in small pieces, as a pipe delivers it.
	for i := 0; i < len(in); i += 7 {
		end := min(i+7, len(in))
		if _, err := f.Write([]byte(in[i:end])); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Fatalf("filtered:\n%s\nwant:\n%s", out.String(), want)
	}
}
