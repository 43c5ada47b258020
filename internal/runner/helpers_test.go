package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/runner"
)

// fixture builds a runner config: filesystem storage (encrypted with a
// fresh age key), a postgres target main on db pg and, when my is set, a
// mysql target ci on db my, and whatever extra definition fields (indented
// two spaces) and documents the test adds.
type fixture struct {
	pg, my string
	// spec are more definition spec fields, e.g. "restoreTest: {...}".
	spec string
	// docs are more documents (Secrets), each starting with ---.
	docs string
	// offsite is the storage's spec.offsite (a flow mapping), if any.
	offsite string
	// chunked selects format 2 with a dedup key Secret; dedupKey is its
	// value (a fixed key when empty).
	chunked  bool
	dedupKey string
	// compression is the storage's spec.compression.level, if any.
	compression string
	// identity is the age key; nil means a fresh one.
	identity *age.X25519Identity
	// files, when set, adds a filesystem target "files" backing up that
	// directory.
	files string
}

func (f fixture) load(t *testing.T, dir string) *config.Config {
	t.Helper()
	id := f.identity
	if id == nil {
		var err error
		if id, err = age.GenerateX25519Identity(); err != nil {
			t.Fatal(err)
		}
	}
	offsite := ""
	if f.offsite != "" {
		offsite = ", offsite: " + f.offsite
	}
	if f.compression != "" {
		offsite += ", compression: {level: " + f.compression + "}"
	}
	docs := f.docs
	if f.dedupKey == "" {
		f.dedupKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	}
	if f.chunked {
		offsite += ", chunked: {keySecretRef: {name: dedup, key: key}}"
		docs += "\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: dedup}\nstringData: {key: " + f.dedupKey + "}\n"
	}
	targets := fmt.Sprintf("  - name: main\n    postgres: {host: 127.0.0.1, port: 5432, database: %s, user: postgres}\n", f.pg)
	if f.my != "" {
		targets += fmt.Sprintf("  - name: ci\n    mysql: {host: 127.0.0.1, port: 3306, database: %s, user: root}\n", f.my)
	}
	if f.files != "" {
		targets += fmt.Sprintf("  - name: files\n    filesystem: {path: %q}\n", f.files)
	}
	yaml := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec: {filesystem: {path: %q}, encryption: {recipients: [%s], identitySecretRef: {name: age, key: identity}}%s}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: shop, namespace: test}
spec:
  storageRef: {name: local}
  targets:
%s%s
---
apiVersion: v1
kind: Secret
metadata: {name: age}
stringData: {identity: %q}
%s`, dir, id.Recipient(), offsite, targets, indent(f.spec), id.String(), docs)
	path := filepath.Join(t.TempDir(), "coffer.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	return cfg
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

func newRunner(t *testing.T, cfg *config.Config, opts runner.Options) *runner.Runner {
	t.Helper()
	r, err := runner.New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func backup(t *testing.T, r *runner.Runner) string {
	t.Helper()
	m, err := r.Backup(context.Background(), runner.BackupRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// saved collects the records a restore test stores.
type saved struct {
	cat     catalog.Catalog
	records []catalog.RestoreTest
	// before, if set, runs before each record is stored.
	before func(catalog.RestoreTest)
}

func (s *saved) save(r catalog.RestoreTest) error {
	if s.before != nil {
		s.before(r)
	}
	s.records = append(s.records, r)
	return s.cat.PutRestoreTest(context.Background(), r)
}
