package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: what the user typed wrong exits 2 with a message that
// says what to type; a broken config exits 1 naming the file and field.
func TestUsageErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "coffer.yaml")
	os.WriteFile(cfg, []byte("apiVersion: coffer.dev/v1alpha1\nkind: BackupStorage\nmetadata: {name: s}\nspec: {filesystem: {path: /tmp}, bogus: 1}\n"), 0o600)
	cases := map[string]struct {
		args []string
		code int
		want string
	}{
		"no config file":     {[]string{"list"}, 2, "-f/--file is required"},
		"no backup id":       {[]string{"verify", "-f", cfg}, 2, "--backup is required"},
		"unknown flag":       {[]string{"list", "--nope"}, 2, "unknown flag"},
		"bad output format":  {[]string{"list", "-f", cfg, "-o", "xml"}, 2, "table or json"},
		"unknown config key": {[]string{"list", "-f", cfg}, 1, `unknown field "spec.bogus"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := runner(t, nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}
