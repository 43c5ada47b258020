package config

import (
	"strings"
	"testing"
)

// withProving is valid.yaml with an offsite copy (its own credentials),
// offsite keep-counts, scheduled verification and a restore test whose
// server has its own password Secret.
func withProving(t *testing.T) string {
	s := string(loadValid(t))
	s = strings.Replace(s, "  upload: {partSizeMiB: 8, concurrency: 3}\n", `  upload: {partSizeMiB: 8, concurrency: 3}
  offsite:
    s3: {bucket: far, endpoint: "http://10.0.0.9:9000", credentialsSecretRef: {name: far-creds}}
`, 1)
	s = strings.Replace(s, "retention: {hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 2}",
		"retention: {hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 2, offsite: {daily: 30, monthly: 24}}\n"+
			"  verify: {schedule: \"0 3 * * *\", budget: 10Gi, offsite: true}\n"+
			"  restoreTest:\n    schedule: \"0 4 * * *\"\n    targets:\n"+
			"    - name: main\n      server: {host: scratch, user: tester, passwordSecretRef: {name: scratch, key: password}}\n"+
			"      checks: [\"select count(*) > 1000 from orders\"]", 1)
	return s + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: far-creds}\nstringData: {accessKeyID: FAR, secretAccessKey: far-s3cret}\n" +
		"---\napiVersion: v1\nkind: Secret\nmetadata: {name: scratch}\nstringData: {password: scratch-pw}\n"
}

func TestParseProving(t *testing.T) {
	c, err := Parse("valid.yaml", []byte(withProving(t)))
	if err != nil {
		t.Fatal(err)
	}
	oc, err := c.OffsiteStorageConfig()
	if err != nil {
		t.Fatal(err)
	}
	if oc.S3 == nil || oc.S3.Bucket != "far" || oc.S3.AccessKeyID != "FAR" || oc.S3.SecretAccessKey != "far-s3cret" {
		t.Fatalf("offsite storage %+v", oc.S3)
	}
	if oc.PartSize != 8<<20 || oc.Concurrency != 3 {
		t.Fatalf("offsite upload settings are not the primary's: %d, %d", oc.PartSize, oc.Concurrency)
	}
	if v := c.Definition.Spec.Verify; v.Budget.Value() != 10<<30 || !v.Offsite {
		t.Fatalf("verify %+v", v)
	}
	if rt := c.RestoreTestTargets(); len(rt) != 1 || rt[0].Server.Host != "scratch" || len(rt[0].Checks) != 1 {
		t.Fatalf("restore test targets %+v", rt)
	}
}

func TestRestoreTestTargetsDefault(t *testing.T) {
	s := strings.Replace(string(loadValid(t)), "  targets:\n", "  restoreTest: {schedule: \"@daily\"}\n  targets:\n", 1)
	c, err := Parse("valid.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if rt := c.RestoreTestTargets(); len(rt) != 2 || rt[0].Name != "main" || rt[1].Name != "ci" || rt[0].Server != nil {
		t.Fatalf("default restore test targets %+v", rt)
	}
}

func TestParseProvingErrors(t *testing.T) {
	cases := map[string]struct {
		edit func(string) string
		want []string
	}{
		"offsite is the primary": {
			func(s string) string {
				return strings.Replace(s, `s3: {bucket: far, endpoint: "http://10.0.0.9:9000"`, `s3: {bucket: backups, prefix: prod, endpoint: "http://127.0.0.1:9000"`, 1)
			},
			[]string{"spec.offsite.s3", "primary storage itself"},
		},
		"offsite credentials missing": {
			func(s string) string { return strings.Replace(s, "{name: far-creds}", "{name: nope}", 1) },
			[]string{"spec.offsite.s3.credentialsSecretRef", `Secret "nope" is not in the file`},
		},
		"offsite with two backends": {
			func(s string) string {
				return strings.Replace(s, "  offsite:\n", "  offsite:\n    filesystem: {path: /far}\n", 1)
			},
			[]string{"spec.offsite", "only one of s3, filesystem, azure or gcs"},
		},
		"offsite keep-counts without an offsite copy": {
			func(s string) string {
				i := strings.Index(s, "  offsite:\n")
				j := strings.Index(s, "---\napiVersion: coffer.dev/v1alpha1\nkind: BackupDefinition")
				return s[:i] + s[j:]
			},
			[]string{"spec.retention.offsite", "has no spec.offsite"},
		},
		"negative offsite keep-count": {
			func(s string) string { return strings.Replace(s, "daily: 30", "daily: -1", 1) },
			[]string{"spec.retention.offsite.daily", "must not be negative"},
		},
		"verify newest and budget": {
			func(s string) string { return strings.Replace(s, "budget: 10Gi", "budget: 10Gi, newest: 2", 1) },
			[]string{"spec.verify", "exclude each other"},
		},
		"verify without a schedule": {
			func(s string) string { return strings.Replace(s, `verify: {schedule: "0 3 * * *", `, "verify: {", 1) },
			[]string{"spec.verify.schedule", "required"},
		},
		"restore test of an unknown target": {
			func(s string) string {
				return strings.Replace(s, "    - name: main\n      server", "    - name: nope\n      server", 1)
			},
			[]string{"spec.restoreTest.targets[0].name", `"nope" is not a target`},
		},
		"restore test password missing": {
			func(s string) string {
				return strings.Replace(s, "{name: scratch, key: password}", "{name: scratch, key: pw}", 1)
			},
			[]string{"spec.restoreTest.targets[0].server.passwordSecretRef", `has no key "pw"`},
		},
		"empty check": {
			func(s string) string { return strings.Replace(s, `"select count(*) > 1000 from orders"`, `" "`, 1) },
			[]string{"spec.restoreTest.targets[0].checks[0]", "empty statement"},
		},
		"bad restore test schedule": {
			func(s string) string { return strings.Replace(s, `schedule: "0 4 * * *"`, `schedule: "0 25 * * *"`, 1) },
			[]string{"spec.restoreTest.schedule", "invalid cron expression"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("valid.yaml", []byte(tc.edit(withProving(t))))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, secret := range []string{"far-s3cret", "scratch-pw"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}
