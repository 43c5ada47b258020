package kubernetes

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseFlat(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    map[string]string
		wantErr string // substring; "" means success
	}{
		"seed example": {in: "pods=ns1/pod1,ns1/pod2;persistentvolumeclaims=n2/slavepod,ns2/primarypod",
			want: map[string]string{"pods": "ns1/pod1,ns1/pod2", "persistentvolumeclaims": "n2/slavepod,ns2/primarypod"}},
		"regexp entries": {in: "pods=ns1/pod1,~ns1/web-.*;persistentvolumeclaims=ns2/data",
			want: map[string]string{"pods": "ns1/pod1,~ns1/web-.*", "persistentvolumeclaims": "ns2/data"}},
		"comma and semicolon inside a regexp": {in: "pods=~ns/web-[0-9]{1,3},~a/(b;c);secrets=x/y",
			want: map[string]string{"pods": "~ns/web-[0-9]{1,3},~a/(b;c)", "secrets": "x/y"}},
		"escaped comma":    {in: `pods=~ns/a\,b,ns/c`, want: map[string]string{"pods": `~ns/a\,b,ns/c`}},
		"spaces trimmed":   {in: " pods = ns/a , ns/b ", want: map[string]string{"pods": "ns/a , ns/b"}},
		"empty":            {in: "", want: map[string]string{}},
		"cluster-scoped":   {in: "clusterroles.rbac.authorization.k8s.io=admin,~system:.*", want: map[string]string{"clusterroles.rbac.authorization.k8s.io": "admin,~system:.*"}},
		"no equals":        {in: "pods", wantErr: `"pods" is not resource=entries`},
		"duplicate":        {in: "pods=a/b;pods=c/d", wantErr: `resource "pods" is given twice`},
		"bad regexp":       {in: "pods=ns1/pod1,~ns1/web-(", wantErr: `pods: entry 2 "~ns1/web-(": invalid regular expression`},
		"empty entry":      {in: "pods=ns1/a,,ns1/b", wantErr: `pods: entry 2 "": empty entry`},
		"too many slashes": {in: "pods=a/b/c", wantErr: `pods: entry 1 "a/b/c"`},
		"glob as key":      {in: "pod*=a/b", wantErr: `resource "pod*": not a resource name`},
		"empty regexp":     {in: "pods=~", wantErr: `entry 1 "~": empty regular expression`},
		"bracket in name":  {in: "pods=a/b(c)", wantErr: `entry 1 "a/b(c)"`},
		"empty key":        {in: "=a/b", wantErr: "empty resource name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseFlat(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrOrder) {
					t.Fatalf("ParseFlat(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFlat(%q): %v", tc.in, err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("ParseFlat(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseOrderNamesEveryBadEntry(t *testing.T) {
	_, err := ParseOrder(map[string]string{"pods": "a/b,~(", "secrets": "x/y/z"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`pods: entry 2 "~("`, `secrets: entry 1 "x/y/z"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestRank(t *testing.T) {
	o, err := ParseOrder(map[string]string{"pods": "ns2/db-1,~ns1/web-[0-9]+,ns1/web-2,~.*/cache-.*"})
	if err != nil {
		t.Fatal(err)
	}
	entries := o.For(Resource{Name: "pods", Version: "v1"})
	tests := map[string]int{
		"ns2/db-1":     0,
		"ns1/web-2":    1, // the regexp comes first, so the exact entry never wins
		"ns1/web-10":   1,
		"ns1/web-x":    -1,
		"ns1/web-1a":   -1, // the regexp must match the whole key
		"xns1/web-1":   -1,
		"ns3/cache-a":  3,
		"ns2/db-10":    -1,
		"ns1/ns1/web1": -1,
	}
	for k, want := range tests {
		if got := rank(entries, k); got != want {
			t.Errorf("rank(%q) = %d, want %d", k, got, want)
		}
	}
}

func TestOrderFor(t *testing.T) {
	o, err := ParseOrder(map[string]string{"deployments": "a/b", "deployments.apps": "c/d", "widgets": "e/f"})
	if err != nil {
		t.Fatal(err)
	}
	if e := o.For(Resource{Group: "apps", Name: "deployments"}); len(e) != 1 || e[0].Text != "c/d" {
		t.Errorf("full name should win, got %v", e)
	}
	if e := o.For(Resource{Group: "example.com", Name: "widgets"}); len(e) != 1 || e[0].Text != "e/f" {
		t.Errorf("bare name should match any group, got %v", e)
	}
	if e := o.For(Resource{Name: "pods"}); e != nil {
		t.Errorf("unordered resource got %v", e)
	}
}

// FuzzParseFlat: the parser never panics, and what it accepts it reads back
// the same from its own flat form.
func FuzzParseFlat(f *testing.F) {
	for _, s := range []string{
		"pods=ns1/pod1,ns1/pod2;persistentvolumeclaims=n2/slavepod,ns2/primarypod",
		"pods=ns1/pod1,~ns1/web-.*;persistentvolumeclaims=ns2/data",
		"pods=~ns/web-[0-9]{1,3},~a/(b;c);secrets=x/y",
		`pods=~a\,b`, "=", ";", "pods=", "a=~(", "a=b/c/d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseFlat(s)
		if err != nil {
			if !errors.Is(err, ErrOrder) {
				t.Fatalf("ParseFlat(%q): error %v does not wrap ErrOrder", s, err)
			}
			return
		}
		again, err := ParseFlat(FormatFlat(m))
		if err != nil {
			t.Fatalf("ParseFlat(FormatFlat(%v)) = %v", m, err)
		}
		if !maps.Equal(m, again) {
			t.Fatalf("round trip of %q: %v became %v", s, m, again)
		}
		if _, err := ParseOrder(m); err != nil {
			t.Fatalf("ParseFlat accepted %q but ParseOrder refuses %v: %v", s, m, err)
		}
	})
}
