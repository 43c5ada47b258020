package controller

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
)

func fixtures() (*v1alpha1.BackupDefinition, *v1alpha1.BackupStorage, map[string]*corev1.Secret) {
	def := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "app"},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: "s3"}, Schedule: "0 * * * *",
			Targets: []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "pg", Database: "shop", User: "app",
				PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: "creds", Key: "password"}}}}}}
	st := &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: "coffer-system"},
		Spec: v1alpha1.BackupStorageSpec{S3: &v1alpha1.S3Storage{Bucket: "b", CredentialsSecretRef: &v1alpha1.SecretReference{Name: "creds"}},
			Encryption: &v1alpha1.Encryption{Recipients: []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}}}}
	secrets := map[string]*corev1.Secret{
		// The same Secret name in both namespaces: the renderer must keep them apart.
		"app/creds":           {Data: map[string][]byte{"password": []byte("pg-pass"), "unrelated": []byte("not-copied")}},
		"coffer-system/creds": {Data: map[string][]byte{"accessKeyID": []byte("AK"), "secretAccessKey": []byte("SK")}},
	}
	return def, st, secrets
}

func source(secrets map[string]*corev1.Secret) secretSource {
	return func(ns, name string) (*corev1.Secret, error) {
		if s, ok := secrets[ns+"/"+name]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("%w: %s/%s", errSecretMissing, ns, name)
	}
}

// TestRenderConfig: the rendered config is a valid runner config whose
// Secrets resolve to the right namespace's values, with only referenced keys.
func TestRenderConfig(t *testing.T) {
	def, st, secrets := fixtures()
	out, err := renderConfig(def, st, source(secrets), "tok")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("rendered", out)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, out)
	}
	sc, err := cfg.StorageConfig()
	if err != nil || sc.S3.AccessKeyID != "AK" || sc.S3.SecretAccessKey != "SK" {
		t.Fatalf("storage credentials: %+v %v", sc.S3, err)
	}
	tg := cfg.Targets()[0]
	if pw, _ := tg.Secrets.Value(tg.Spec.Postgres.PasswordSecretRef); pw != "pg-pass" {
		t.Fatalf("password resolved to %q", pw)
	}
	if strings.Contains(string(out), "not-copied") || strings.Contains(string(out), "bm90LWNvcGllZA") {
		t.Fatal("an unreferenced Secret key was copied into the config")
	}
	if def.Spec.Targets[0].Postgres.PasswordSecretRef.Name != "creds" {
		t.Fatal("rendering changed the definition it was given")
	}
}

// TestConfigHash: a referenced Secret's change changes the hash; an
// unrelated key or Secret does not.
func TestConfigHash(t *testing.T) {
	def, st, secrets := fixtures()
	hash := func() string {
		out, err := renderConfig(def, st, source(secrets), "tok")
		if err != nil {
			t.Fatal(err)
		}
		return configHash(out)
	}
	h0 := hash()
	if hash() != h0 {
		t.Fatal("rendering is not deterministic")
	}
	secrets["app/creds"].Data["unrelated"] = []byte("changed")
	secrets["app/other"] = &corev1.Secret{Data: map[string][]byte{"x": []byte("y")}}
	if hash() != h0 {
		t.Fatal("an unrelated change changed the hash")
	}
	secrets["app/creds"].Data["password"] = []byte("rotated")
	if hash() == h0 {
		t.Fatal("a rotated password did not change the hash")
	}
}

func TestRenderMissingSecret(t *testing.T) {
	def, st, secrets := fixtures()
	delete(secrets, "app/creds")
	_, err := renderConfig(def, st, source(secrets), "tok")
	if err == nil || !strings.Contains(err.Error(), "app/creds") {
		t.Fatalf("err = %v, want it to name app/creds", err)
	}
}

// TestRenderConfigAzure: an Azure storage's shared key and its offsite
// copy's SAS token reach the runner config from the operator namespace,
// and no Secret is needed when the storage uses the pod's identity.
func TestRenderConfigAzure(t *testing.T) {
	cases := map[string]struct {
		primary, offsite *v1alpha1.AzureStorage
		wantKey, wantSAS string
	}{
		"shared key and sas": {
			primary: &v1alpha1.AzureStorage{Account: "acct", Container: "c",
				SharedKeySecretRef: &v1alpha1.SecretKeySelector{Name: "azure", Key: "accountKey"}},
			offsite: &v1alpha1.AzureStorage{Account: "far", Container: "c",
				SASTokenSecretRef: &v1alpha1.SecretKeySelector{Name: "azure-far", Key: "sas"}},
			wantKey: "c2hhcmVk", wantSAS: "sv=2024&sig=x",
		},
		"workload identity": {
			primary: &v1alpha1.AzureStorage{Account: "acct", Container: "c"},
			offsite: &v1alpha1.AzureStorage{Account: "far", Container: "c"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			def, st, secrets := fixtures()
			st.Spec.S3 = nil
			st.Spec.Azure = tc.primary
			st.Spec.Offsite = &v1alpha1.OffsiteStorage{Azure: tc.offsite}
			secrets["coffer-system/azure"] = &corev1.Secret{Data: map[string][]byte{"accountKey": []byte("c2hhcmVk")}}
			secrets["coffer-system/azure-far"] = &corev1.Secret{Data: map[string][]byte{"sas": []byte("sv=2024&sig=x")}}
			out, err := renderConfig(def, st, source(secrets), "tok")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse("rendered", out)
			if err != nil {
				t.Fatalf("rendered config does not load: %v\n%s", err, out)
			}
			sc, err := cfg.StorageConfig()
			if err != nil || sc.Azure == nil || sc.Azure.SharedKey != tc.wantKey || sc.Azure.SASToken != "" {
				t.Fatalf("primary: %+v %v", sc.Azure, err)
			}
			oc, err := cfg.OffsiteStorageConfig()
			if err != nil || oc.Azure == nil || oc.Azure.SASToken != tc.wantSAS || oc.Azure.SharedKey != "" {
				t.Fatalf("offsite: %+v %v", oc.Azure, err)
			}
			if tc.primary.SharedKeySecretRef != nil && tc.primary.SharedKeySecretRef.Name != "azure" {
				t.Fatal("rendering changed the storage it was given")
			}
		})
	}
}

// TestRenderConfigGCS: a GCS storage's service-account key reaches the
// runner config; without one, nothing is needed (workload identity).
func TestRenderConfigGCS(t *testing.T) {
	for name, ref := range map[string]*v1alpha1.SecretKeySelector{
		"service-account key": {Name: "gcs", Key: "key.json"},
		"workload identity":   nil,
	} {
		t.Run(name, func(t *testing.T) {
			def, st, secrets := fixtures()
			st.Spec.S3 = nil
			st.Spec.GCS = &v1alpha1.GCSStorage{Bucket: "b", CredentialsSecretRef: ref}
			secrets["coffer-system/gcs"] = &corev1.Secret{Data: map[string][]byte{"key.json": []byte(`{"type":"service_account"}`)}}
			out, err := renderConfig(def, st, source(secrets), "tok")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse("rendered", out)
			if err != nil {
				t.Fatalf("rendered config does not load: %v\n%s", err, out)
			}
			sc, err := cfg.StorageConfig()
			want := ""
			if ref != nil {
				want = `{"type":"service_account"}`
			}
			if err != nil || sc.GCS == nil || sc.GCS.Bucket != "b" || sc.GCS.CredentialsJSON != want {
				t.Fatalf("storage: %+v %v", sc.GCS, err)
			}
		})
	}
}
