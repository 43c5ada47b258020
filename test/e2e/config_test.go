package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// target is one target block of a test config.
type target struct {
	name, engine, db string
	port             int
	user, password   string
}

// setup is a config file and what it points at.
type setup struct {
	path       string
	storageDir string // filesystem storage root, when not S3
	minio      *testutil.MinIO
	offsite    *testutil.MinIO // spec.offsite, when setupOpts.offsite
	identity   *age.X25519Identity
	secrets    []string // values that must never be printed
}

type setupOpts struct {
	targets    []target
	s3         bool
	noIdentity bool                // omit identitySecretRef
	identity   *age.X25519Identity // decrypt with this instead of the right one
	apiToken   string              // adds the daemon's API token Secret
	schedule   string
	retention  string // with schedule; default {hourly: 2, daily: 2}
	// offsite adds spec.offsite on a second MinIO server (s3 only); its
	// value is the block's upload settings, e.g. "{partSizeMiB: 5}", or
	// "{}" for the defaults.
	offsite string
	// chunked writes format 2 (spec.chunked with a dedup key Secret).
	chunked bool
	// compression is spec.compression.level, if set.
	compression string
}

func writeSetup(t *testing.T, o setupOpts) *setup {
	t.Helper()
	dir := t.TempDir()
	s := &setup{path: filepath.Join(dir, "coffer.yaml"), identity: keyPair(t)}
	decrypt := s.identity
	if o.identity != nil {
		decrypt = o.identity
	}
	s.secrets = append(s.secrets, decrypt.String())

	var b strings.Builder
	b.WriteString("apiVersion: coffer.dev/v1alpha1\nkind: BackupStorage\nmetadata: {name: store}\nspec:\n")
	if o.s3 {
		s.minio = testutil.StartMinIO(t)
		fmt.Fprintf(&b, "  s3: {bucket: %s, prefix: e2e, endpoint: %q, region: us-east-1, forcePathStyle: true, credentialsSecretRef: {name: s3}}\n",
			s.minio.Bucket, s.minio.Endpoint)
		s.secrets = append(s.secrets, s.minio.SecretKey)
		if o.offsite != "" {
			s.offsite = testutil.StartMinIO(t)
			fmt.Fprintf(&b, "  offsite: {s3: {bucket: %s, prefix: far, endpoint: %q, region: us-east-1, forcePathStyle: true, credentialsSecretRef: {name: s3-offsite}}, upload: %s}\n",
				s.offsite.Bucket, s.offsite.Endpoint, o.offsite)
			s.secrets = append(s.secrets, s.offsite.SecretKey)
		}
	} else {
		s.storageDir = filepath.Join(dir, "storage")
		if err := os.Mkdir(s.storageDir, 0o700); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  filesystem: {path: %q}\n", s.storageDir)
	}
	fmt.Fprintf(&b, "  encryption:\n    recipients: [%q]\n", s.identity.Recipient().String())
	if !o.noIdentity {
		b.WriteString("    identitySecretRef: {name: age, key: identity}\n")
	}
	if o.chunked {
		b.WriteString("  chunked: {keySecretRef: {name: dedup, key: key}}\n")
	}
	if o.compression != "" {
		fmt.Fprintf(&b, "  compression: {level: %s}\n", o.compression)
	}
	b.WriteString("---\napiVersion: coffer.dev/v1alpha1\nkind: BackupDefinition\nmetadata: {name: shop, namespace: e2e}\nspec:\n  storageRef: {name: store}\n")
	if o.schedule != "" {
		if o.retention == "" {
			o.retention = "{hourly: 2, daily: 2}"
		}
		fmt.Fprintf(&b, "  schedule: %q\n  retention: %s\n", o.schedule, o.retention)
	}
	b.WriteString("  targets:\n")
	for _, tg := range o.targets {
		port, user := tg.port, tg.user
		if port == 0 {
			port = map[string]int{"postgres": 5432, "mysql": 3306}[tg.engine]
		}
		if user == "" {
			user = map[string]string{"postgres": "postgres", "mysql": "root"}[tg.engine]
		}
		fmt.Fprintf(&b, "  - name: %s\n    %s: {host: 127.0.0.1, port: %d, database: %s, user: %s", tg.name, tg.engine, port, tg.db, user)
		if tg.password != "" {
			fmt.Fprintf(&b, ", passwordSecretRef: {name: pw-%s, key: password}", tg.name)
			s.secrets = append(s.secrets, tg.password)
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: age}\nstringData: {identity: %q}\n", decrypt.String())
	if o.apiToken != "" {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: coffer-api-token}\nstringData: {token: %q}\n", o.apiToken)
		s.secrets = append(s.secrets, o.apiToken)
	}
	if o.chunked {
		dedup := randomName("") + randomName("") + randomName("") + randomName("") + randomName("") // 40 hex digits
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: dedup}\nstringData: {key: %q}\n", dedup)
		s.secrets = append(s.secrets, dedup)
	}
	if s.minio != nil {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s3}\nstringData: {accessKeyID: %q, secretAccessKey: %q}\n", s.minio.AccessKey, s.minio.SecretKey)
	}
	if s.offsite != nil {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s3-offsite}\nstringData: {accessKeyID: %q, secretAccessKey: %q}\n", s.offsite.AccessKey, s.offsite.SecretKey)
	}
	for _, tg := range o.targets {
		if tg.password != "" {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: pw-%s}\nstringData: {password: %q}\n", tg.name, tg.password)
		}
	}
	if err := os.WriteFile(s.path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// objectPath is the local file of a stored object (filesystem storage).
func (s *setup) objectPath(key string) string {
	return filepath.Join(s.storageDir, filepath.FromSlash(key))
}

// storedFiles lists every file under the filesystem storage.
func (s *setup) storedFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	filepath.Walk(s.storageDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// assertNoSecrets fails if any secret of the setup appears in text.
func (s *setup) assertNoSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, secret := range s.secrets {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("a secret appears in %s", where)
		}
	}
}
