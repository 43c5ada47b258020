package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeVolumeConfig writes a config the way a Kubernetes Secret volume
// holds it (dir/..data -> ..2026_x/, dir/config.yaml -> ..data/config.yaml)
// with one filesystem target, and returns the config's path.
func writeVolumeConfig(t *testing.T, dir, storage, targetBlock string) string {
	t.Helper()
	id := keyPair(t)
	cfg := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: store}
spec:
  filesystem: {path: %q}
  encryption: {recipients: [%q], identitySecretRef: {name: age, key: identity}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: tenant, namespace: e2e}
spec:
  storageRef: {name: store}
  targets:
  - name: data
    filesystem: %s
---
apiVersion: v1
kind: Secret
metadata: {name: age}
stringData: {identity: %q}
`, storage, id.Recipient().String(), targetBlock, id.String())
	ts := filepath.Join(dir, "..2026_11_29_00_00_00.1")
	if err := os.MkdirAll(ts, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "..data"))
	os.Remove(filepath.Join(dir, "config.yaml"))
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/config.yaml", filepath.Join(dir, "config.yaml")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "config.yaml")
}

// TestRunnerNeverReadsItsOwnConfig plays the tenant attack: a filesystem
// target aimed at the runner's config (however spelled) is refused; a tree
// that holds the config is backed up without it; and a backup of a path can
// never be restored into a volume target.
func TestRunnerNeverReadsItsOwnConfig(t *testing.T) {
	root := t.TempDir()
	vol := filepath.Join(root, "etc", "coffer")
	storage := filepath.Join(t.TempDir(), "storage")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(vol, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"the mount":                 vol,
		"dot-dot":                   filepath.Join(root, "etc", "..", "etc", "coffer") + "/",
		"a link to it":              filepath.Join(root, "link"),
		"the timestamped directory": filepath.Join(vol, "..2026_11_29_00_00_00.1"),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeVolumeConfig(t, vol, storage, fmt.Sprintf("{path: %q}", path))
			r := runner(t, nil, "backup", "-f", cfg)
			if r.code == 0 || !strings.Contains(r.stderr, "runner's own config") {
				t.Fatalf("backup of %s: exit %d\n%s", path, r.code, r.stderr)
			}
		})
	}

	// The tree around it is backed up, without the config.
	cfg := writeVolumeConfig(t, vol, storage, fmt.Sprintf("{path: %q}", root))
	if err := os.WriteFile(filepath.Join(root, "etc", "app.conf"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "backup", "-f", cfg)
	out := filepath.Join(t.TempDir(), "restored")
	mustRun(t, "restore", "-f", cfg, "--backup", "latest", "--into-path", out)
	if b, err := os.ReadFile(filepath.Join(out, "etc", "app.conf")); err != nil || string(b) != "kept" {
		t.Fatalf("etc/app.conf not restored: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(out, "etc", "coffer")); !os.IsNotExist(err) {
		t.Fatalf("the config directory is in the backup: %v", err)
	}

	// Restoring into the config's directory is refused too.
	r := runner(t, nil, "restore", "-f", cfg, "--backup", "latest", "--into-path", vol, "--clean")
	if r.code == 0 || !strings.Contains(r.stderr, "runner's own config") {
		t.Fatalf("restore into the config directory: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(cfg); err != nil {
		t.Fatalf("config gone after refused restore: %v", err)
	}

	// The same target, now claiming to be a volume: a path backup is never
	// restored into a volume.
	cfg = writeVolumeConfig(t, vol, storage, fmt.Sprintf("{path: %q, persistentVolumeClaim: mine}", root))
	r = runner(t, nil, "restore", "-f", cfg, "--backup", "latest", "--clean")
	if r.code != 2 || !strings.Contains(r.stderr, "kind of place") {
		t.Fatalf("path backup restored into a volume target: exit %d\n%s", r.code, r.stderr)
	}
}
