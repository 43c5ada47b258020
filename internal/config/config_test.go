package config

import (
	"os"
	"strings"
	"testing"
)

func loadValid(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	c, err := Parse("valid.yaml", loadValid(t))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Namespace() != "default" || c.Name() != "shop" || len(c.Targets()) != 2 {
		t.Fatalf("unexpected config: ns=%q name=%q targets=%d", c.Namespace(), c.Name(), len(c.Targets()))
	}
	sc, err := c.StorageConfig()
	if err != nil {
		t.Fatal(err)
	}
	if sc.S3 == nil || sc.S3.AccessKeyID != "AKIAEXAMPLE" || sc.S3.SecretAccessKey != "s3cret-s3" || sc.Prefix != "prod" {
		t.Fatalf("storage config not resolved from base64 data: %+v", sc.S3)
	}
	if sc.PartSize != 8<<20 || sc.Concurrency != 3 {
		t.Fatalf("upload settings: part %d concurrency %d", sc.PartSize, sc.Concurrency)
	}
	pw, err := c.Targets()[0].Secrets.Value(c.Targets()[0].Spec.Postgres.PasswordSecretRef)
	if err != nil || pw != "s3cret-pg" {
		t.Fatalf("password = %q, %v", pw, err)
	}
	if c.Location().String() != "Europe/Berlin" {
		t.Fatalf("location %v", c.Location())
	}
	if rs, err := c.Recipients(); err != nil || len(rs) != 1 {
		t.Fatalf("recipients %v %v", rs, err)
	}
}

// TestParseErrors: every error names the file, the object and the field.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit func(string) string
		want []string
	}{
		"unknown field": {
			func(s string) string { return strings.Replace(s, "bucket: backups", "bukcet: backups", 1) },
			[]string{"valid.yaml", `BackupStorage "local"`, `unknown field "spec.s3.bukcet"`},
		},
		"no targets": {
			func(s string) string {
				i := strings.Index(s, "  targets:")
				j := strings.Index(s, "---\napiVersion: v1")
				return s[:i] + "  targets: []\n" + s[j:]
			},
			[]string{"BackupDefinition default/shop", "spec.targets", "at least one target"},
		},
		"duplicate target": {
			func(s string) string { return strings.Replace(s, "name: ci", "name: main", 1) },
			[]string{"spec.targets[1].name", `duplicate target name "main"`},
		},
		"bad cron": {
			func(s string) string { return strings.Replace(s, `"0 * * * *"`, `"61 * * * *"`, 1) },
			[]string{"spec.schedule", "invalid cron expression"},
		},
		"negative drain timeout": {
			func(s string) string {
				return strings.Replace(s, "  targets:", "  runner: {drainTimeout: -5m}\n  targets:", 1)
			},
			[]string{"spec.runner.drainTimeout", "must not be negative"},
		},
		"negative manual keep-count": {
			func(s string) string { return strings.Replace(s, "retention: {", "retention: {manual: -1, ", 1) },
			[]string{"spec.retention.manual", "must not be negative"},
		},
		"bad time zone": {
			func(s string) string { return strings.Replace(s, "Europe/Berlin", "Mars/Olympus", 1) },
			[]string{"spec.timeZone", "Mars/Olympus"},
		},
		"azure and s3": {
			func(s string) string {
				return strings.Replace(s, "  encryption:", "  azure: {account: acct, container: c}\n  encryption:", 1)
			},
			[]string{`BackupStorage "local"`, "spec", "only one of s3, filesystem, azure or gcs"},
		},
		"azure without container, with two credentials": {
			func(s string) string {
				i := strings.Index(s, "  s3: {")
				j := strings.Index(s, "  encryption:")
				return s[:i] + "  azure: {account: acct, sharedKeySecretRef: {name: pg, key: password}, sasTokenSecretRef: {name: pg, key: password}}\n" + s[j:]
			},
			[]string{"spec.azure.container", "required", "sharedKeySecretRef and sasTokenSecretRef exclude each other"},
		},
		"azure key missing": {
			func(s string) string {
				i := strings.Index(s, "  s3: {")
				j := strings.Index(s, "  encryption:")
				return s[:i] + "  azure: {account: acct, container: c, sharedKeySecretRef: {name: pg, key: accountKey}}\n" + s[j:]
			},
			[]string{"spec.azure.sharedKeySecretRef", "accountKey"},
		},
		"gcs without bucket": {
			func(s string) string {
				i := strings.Index(s, "  s3: {")
				j := strings.Index(s, "  encryption:")
				return s[:i] + "  gcs: {prefix: p, credentialsSecretRef: {name: pg, key: key.json}}\n" + s[j:]
			},
			[]string{"spec.gcs.bucket", "required", "spec.gcs.credentialsSecretRef", "key.json"},
		},
		"no storage": {
			func(s string) string { return s[strings.Index(s, "---")+4:] },
			[]string{"valid.yaml", "no BackupStorage"},
		},
		"missing secret": {
			func(s string) string {
				return strings.Replace(s, "{name: pg, key: password}", "{name: nope, key: password}", 1)
			},
			[]string{"spec.targets[0].postgres.passwordSecretRef", `Secret "nope" is not in the file`},
		},
		"missing secret key": {
			func(s string) string {
				return strings.Replace(s, "{name: pg, key: password}", "{name: pg, key: pass}", 1)
			},
			[]string{"spec.targets[0].postgres.passwordSecretRef", `has no key "pass"`},
		},
		"two engine blocks": {
			func(s string) string {
				return strings.Replace(s, "    mysql: {host", "    postgres: {host: h, database: d, user: u}\n    mysql: {host", 1)
			},
			[]string{"spec.targets[1]", "exactly one engine block"},
		},
		"no engine block": {
			func(s string) string {
				return strings.Replace(s, "    mysql: {host: 127.0.0.1, port: 3306, database: ci, user: root}\n", "", 1)
			},
			[]string{"spec.targets[1]", "exactly one engine block is required"},
		},
		"bad recipient": {
			func(s string) string { return strings.Replace(s, "age1ql3z", "age1XXXX", 1) },
			[]string{"spec.encryption.recipients[0]", "not an age X25519 public key"},
		},
		"wrong storage ref": {
			func(s string) string {
				return strings.Replace(s, "storageRef: {name: local}", "storageRef: {name: remote}", 1)
			},
			[]string{"spec.storageRef.name", `"remote" is not the BackupStorage`},
		},
		"wrong kind": {
			func(s string) string { return strings.Replace(s, "kind: BackupStorage", "kind: BackupStorag", 1) },
			[]string{"document 1", `unsupported apiVersion "coffer.dev/v1alpha1" kind "BackupStorag"`},
		},
		"wrong type": {
			func(s string) string { return strings.Replace(s, "port: 5432", `port: "x"`, 1) },
			[]string{"BackupDefinition default/shop", "port"},
		},
		"invalid yaml": {
			func(s string) string { return strings.Replace(s, "schedule: ", "schedule: [", 1) },
			[]string{"valid.yaml", "document 2", "invalid YAML"},
		},
		"bad part size": {
			func(s string) string { return strings.Replace(s, "partSizeMiB: 8", "partSizeMiB: 1", 1) },
			[]string{"spec.upload.partSizeMiB", "outside 5..5120"},
		},
		"upper-case target name": {
			func(s string) string { return strings.Replace(s, "name: main", "name: Main", 1) },
			[]string{"spec.targets[0].name", "DNS label"},
		},
	}
	base := string(loadValid(t))
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			edited := tc.edit(base)
			if edited == base {
				t.Fatal("edit did not change the input")
			}
			_, err := Parse("valid.yaml", []byte(edited))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{"s3cret-pg", "s3cret-s3", "AGE-SECRET-KEY-1"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret: %q", err)
				}
			}
		})
	}
}

func TestIdentityErrors(t *testing.T) {
	t.Parallel()
	noRef := strings.Replace(string(loadValid(t)), "    identitySecretRef: {name: age-key, key: identity}\n", "", 1)
	c, err := Parse("valid.yaml", []byte(noRef))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identities(); err == nil || !strings.Contains(err.Error(), "identitySecretRef") {
		t.Fatalf("missing identity: err = %v", err)
	}
	garbage := strings.Replace(string(loadValid(t)), "identity: AGE-SECRET-KEY-1GFPY", "identity: NOT-A-KEY-GFPY", 1)
	c, err = Parse("valid.yaml", []byte(garbage))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Identities()
	if err == nil || strings.Contains(err.Error(), "NOT-A-KEY") || !strings.Contains(err.Error(), `Secret "age-key"`) {
		t.Fatalf("garbage identity: err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(loadValidF(f))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		// A config that parses is complete enough to run.
		if len(c.Targets()) == 0 || c.Name() == "" || c.Namespace() == "" {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
		if _, err := c.StorageConfig(); err != nil {
			t.Fatalf("accepted config has unresolvable storage: %v", err)
		}
	})
}

func loadValidF(f *testing.F) []byte {
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		f.Fatal(err)
	}
	return data
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	withChunked := func(secret string) string {
		s := strings.Replace(string(loadValid(t)), "  upload: {partSizeMiB: 8, concurrency: 3}\n",
			"  upload: {partSizeMiB: 8, concurrency: 3}\n  chunked: {keySecretRef: {name: dedup, key: key}}\n", 1)
		return s + secret
	}
	if _, err := Parse("valid.yaml", []byte(withChunked(""))); err == nil || !strings.Contains(err.Error(), "spec.chunked.keySecretRef") {
		t.Fatalf("chunked without its Secret: err = %v", err)
	}
	c, err := Parse("valid.yaml", []byte(withChunked("---\napiVersion: v1\nkind: Secret\nmetadata: {name: dedup}\nstringData: {key: tooshort-s3cret}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DedupKey(); err == nil || strings.Contains(err.Error(), "tooshort-s3cret") || !strings.Contains(err.Error(), `Secret "dedup"`) {
		t.Fatalf("short dedup key: err = %v", err)
	}
	c, err = Parse("valid.yaml", []byte(withChunked("---\napiVersion: v1\nkind: Secret\nmetadata: {name: dedup}\nstringData: {key: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := c.DedupKey(); err != nil || k == nil {
		t.Fatalf("valid dedup key: %v, %v", k, err)
	}
	if plain, _ := Parse("valid.yaml", loadValid(t)); plain != nil {
		if k, err := plain.DedupKey(); k != nil || err != nil {
			t.Fatalf("a storage without spec.chunked has dedup key %v, err %v", k, err)
		}
	}
}

// TestStorageFormat: a runner config states its format explicitly; only
// the controller picks defaults and generates keys.
func TestStorageFormat(t *testing.T) {
	t.Parallel()
	const upload = "  upload: {partSizeMiB: 8, concurrency: 3}\n"
	const key = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: dedup}\nstringData: {key: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff}\n"
	cases := map[string]struct {
		storage string // lines after spec.upload
		chunked bool   // DedupKey is non-nil
		err     string // a Parse error naming this
	}{
		"no format":              {storage: "", chunked: false},
		"stream":                 {storage: "  format: Stream\n", chunked: false},
		"stream beats chunked":   {storage: "  format: Stream\n  chunked: {keySecretRef: {name: dedup, key: key}}\n", chunked: false},
		"stream, chunked no key": {storage: "  format: Stream\n  chunked: {}\n", chunked: false},
		"chunked with key":       {storage: "  format: Chunked\n  chunked: {keySecretRef: {name: dedup, key: key}}\n", chunked: true},
		"chunked block only":     {storage: "  chunked: {keySecretRef: {name: dedup, key: key}}\n", chunked: true},
		"Chunked without a key":  {storage: "  format: Chunked\n", err: "spec.format"},
		"chunked block, no key":  {storage: "  chunked: {}\n", err: "spec.chunked.keySecretRef"},
		"unknown format":         {storage: "  format: Rows\n", err: `"Rows" is not Chunked or Stream`},
		"compression none":       {storage: "  compression: {level: none}\n", chunked: false},
		"unknown compression":    {storage: "  compression: {level: max}\n", err: `spec.compression.level: "max" is not one of fastest, default, better, best, none`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := strings.Replace(string(loadValid(t)), upload, upload+tc.storage, 1) + key
			c, err := Parse("valid.yaml", []byte(s))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k, err := c.DedupKey(); err != nil || (k != nil) != tc.chunked {
				t.Fatalf("DedupKey %v, err %v: want format 2 = %v", k, err, tc.chunked)
			}
		})
	}
}
