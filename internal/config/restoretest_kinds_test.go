package config

import (
	"strings"
	"testing"
)

// withKinds is valid.yaml with a filesystem target files and a kubernetes
// target cluster, and a restore test of files, cluster and main.
func withKinds(t *testing.T) string {
	s := string(loadValid(t))
	s = strings.Replace(s, "  - name: ci\n", "  - name: files\n    filesystem: {path: /data}\n"+
		"  - name: cluster\n    kubernetes: {includedNamespaces: [shop]}\n"+
		"  - name: repo\n    git: {url: \"https://example.com/r.git\"}\n"+
		"  restoreTest:\n    schedule: \"0 4 * * *\"\n    targets:\n"+
		"    - {name: files, scratchDirectory: /scratch}\n    - {name: cluster}\n    - {name: main, checks: [\"select true\"]}\n"+
		"  - name: ci\n", 1)
	// restoreTest must not sit inside the target list: move it after it.
	i := strings.Index(s, "  restoreTest:\n")
	j := strings.Index(s, "  - name: ci\n")
	rt := s[i:j]
	s = s[:i] + s[j:]
	k := strings.Index(s, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: pg}")
	return s[:k] + rt + s[k:]
}

func TestRestoreTestKinds(t *testing.T) {
	c, err := Parse("valid.yaml", []byte(withKinds(t)))
	if err != nil {
		t.Fatal(err)
	}
	rt := c.RestoreTestTargets()
	if len(rt) != 3 || rt[0].ScratchDirectory != "/scratch" || rt[1].Name != "cluster" {
		t.Fatalf("restore test targets %+v", rt)
	}
	// Without a list, only the database targets are tested.
	i := strings.Index(withKinds(t), "    targets:\n    - {name: files")
	s := withKinds(t)
	j := strings.Index(s[i:], "  - name: ci\n")
	if j < 0 {
		j = strings.Index(s[i:], "---")
	}
	s = s[:i] + s[i+j:]
	c, err = Parse("valid.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if rt := c.RestoreTestTargets(); len(rt) != 2 || rt[0].Name != "main" || rt[1].Name != "ci" {
		t.Fatalf("default restore test targets %+v", rt)
	}
}

func TestRestoreTestKindErrors(t *testing.T) {
	cases := map[string]struct {
		from, to string
		want     []string
	}{
		"checks on a filesystem target": {"{name: files, scratchDirectory: /scratch}", "{name: files, checks: [\"select 1\"]}",
			[]string{"spec.restoreTest.targets[0].checks", "SQL statements for postgres and mysql", "tested by directory"}},
		"a server for a kubernetes target": {"{name: cluster}", "{name: cluster, server: {host: h, user: u}}",
			[]string{"spec.restoreTest.targets[1].server", "tested by dry run"}},
		"a scratch directory for a database target": {"{name: main, checks", "{name: main, scratchDirectory: /s, checks",
			[]string{"spec.restoreTest.targets[2].scratchDirectory", "only filesystem targets"}},
		"a relative scratch directory": {"scratchDirectory: /scratch", "scratchDirectory: scratch",
			[]string{"spec.restoreTest.targets[0].scratchDirectory", `"scratch" is not an absolute path`}},
		"a git target": {"{name: cluster}", "{name: repo}",
			[]string{"spec.restoreTest.targets[1].name", `target "repo" is not a target restore tests can use`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := withKinds(t)
			if !strings.Contains(s, tc.from) {
				t.Fatalf("fixture lacks %q", tc.from)
			}
			_, err := Parse("valid.yaml", []byte(strings.Replace(s, tc.from, tc.to, 1)))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
