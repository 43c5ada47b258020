package git

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

const (
	oidA = "1111111111111111111111111111111111111111"
	oidB = "2222222222222222222222222222222222222222"
)

func TestReadBundleHeader(t *testing.T) {
	sha256 := strings.Repeat("ab", 32)
	tests := map[string]struct {
		in       string
		wantErr  string
		wantRefs int
		format   string
		head     string
	}{
		"v2": {in: "# v2 git bundle\n" + oidA + " refs/heads/main\n" + oidB + " refs/tags/v1\n" + oidA + " HEAD\n\nPACK",
			wantRefs: 2, format: "sha1", head: "refs/heads/main"},
		"v3 sha256":      {in: "# v3 git bundle\n@object-format=sha256\n" + sha256 + " refs/heads/dev\n\nPACK", wantRefs: 1, format: "sha256", head: "refs/heads/dev"},
		"filtered":       {in: "# v3 git bundle\n@filter=blob:none\n" + oidA + " refs/heads/main\n\n", wantErr: "filtered"},
		"unknown cap":    {in: "# v3 git bundle\n@future=1\n\n", wantErr: "capability"},
		"incremental":    {in: "# v2 git bundle\n-" + oidA + " base\n" + oidB + " refs/heads/main\n\n", wantErr: "incremental"},
		"not a bundle":   {in: "PK\x03\x04 zip", wantErr: "not a git bundle"},
		"empty":          {in: "", wantErr: "not a git bundle"},
		"bad ref line":   {in: "# v2 git bundle\nxyz refs/heads/main\n\n", wantErr: "bad ref line"},
		"no refs":        {in: "# v2 git bundle\n\n", wantErr: "no refs"},
		"cut in header":  {in: "# v2 git bundle\n" + oidA + " refs/he", wantErr: "unexpected EOF"},
		"v2 line in cap": {in: "# v2 git bundle\n@object-format=sha256\n\n", wantErr: "bad ref line"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tc.in))
			h, err := readBundleHeader(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(h.refs) != tc.wantRefs || h.objectFormat != tc.format || h.headRef() != tc.head {
				t.Errorf("got %+v (head %q)", h, h.headRef())
			}
			if rest, _ := io.ReadAll(r); string(rest) != "PACK" {
				t.Errorf("left %q for the pack", rest)
			}
		})
	}
}

func TestHeadRef(t *testing.T) {
	refs := []bundleRef{{oidA, "refs/heads/a"}, {oidB, "refs/heads/master"}, {oidA, "refs/heads/main"}, {oidB, "refs/tags/t"}}
	tests := map[string]struct {
		head string
		refs []bundleRef
		want string
	}{
		"main preferred among matches": {head: oidA, refs: refs, want: "refs/heads/main"},
		"the only match":               {head: oidB, refs: refs, want: "refs/heads/master"},
		"no head: main":                {refs: refs, want: "refs/heads/main"},
		"no branches":                  {head: oidB, refs: refs[3:], want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := (bundleHeader{refs: tc.refs, head: tc.head}).headRef(); got != tc.want {
				t.Errorf("headRef() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTransportOf(t *testing.T) {
	tests := map[string]transport{
		"https://github.com/a/b.git":  httpTransport,
		"HTTP://host/x":               httpTransport,
		"ssh://git@host:22/a.git":     sshTransport,
		"git@github.com:a/b.git":      sshTransport,
		"host:path/x.git":             sshTransport,
		"git://host/a.git":            gitTransport,
		"/srv/git/a.git":              local,
		"file:///srv/git/a.git":       local,
		"relative/dir:with-colon.git": local,
		"./a:b":                       local,
	}
	for in, want := range tests {
		if got := transportOf(in); got != want {
			t.Errorf("transportOf(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDisplayURLHidesPassword(t *testing.T) {
	if got := displayURL("https://user:hunter2@host/x.git"); strings.Contains(got, "hunter2") {
		t.Errorf("displayURL = %q", got)
	}
}
