package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// TestRenderOffsiteAndRestoreTest: the offsite copy's credentials Secret
// (operator namespace) and a restore test's password Secret (the
// definition's namespace) resolve in the rendered config.
func TestRenderOffsiteAndRestoreTest(t *testing.T) {
	def, st, secrets := fixtures()
	st.Spec.Offsite = &v1alpha1.OffsiteStorage{S3: &v1alpha1.S3Storage{Bucket: "far", Endpoint: "http://far:9000",
		CredentialsSecretRef: &v1alpha1.SecretReference{Name: "far"}}}
	def.Spec.RestoreTest = &v1alpha1.RestoreTestSpec{Schedule: "@daily", Targets: []v1alpha1.RestoreTestTarget{{Name: "main",
		Server: &v1alpha1.ScratchServer{Host: "scratch", User: "t", PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: "far", Key: "pw"}}}}}
	secrets["coffer-system/far"] = &corev1.Secret{Data: map[string][]byte{"accessKeyID": []byte("FAR-AK"), "secretAccessKey": []byte("FAR-SK")}}
	secrets["app/far"] = &corev1.Secret{Data: map[string][]byte{"pw": []byte("scratch-pw")}}
	out, err := renderConfig(def, st, source(secrets), "tok")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("rendered", out)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, out)
	}
	oc, err := cfg.OffsiteStorageConfig()
	if err != nil || oc.S3.AccessKeyID != "FAR-AK" || oc.S3.SecretAccessKey != "FAR-SK" {
		t.Fatalf("offsite credentials: %+v %v", oc.S3, err)
	}
	srv := cfg.RestoreTestTargets()[0].Server
	if pw, _ := cfg.Secrets.Value(srv.PasswordSecretRef); pw != "scratch-pw" {
		t.Fatalf("scratch password resolved to %q", pw)
	}
	if st.Spec.Offsite.S3.CredentialsSecretRef.Name != "far" || def.Spec.RestoreTest.Targets[0].Server.PasswordSecretRef.Name != "far" {
		t.Fatal("rendering changed its inputs")
	}
	if names := referencedSecretNames(def); len(names) != 2 {
		t.Fatalf("watched Secrets %v, want creds and far", names)
	}
}

// TestStatusMirrorsProof: a mirrored Backup shows whether it is offsite
// and when it was proven restorable.
func TestStatusMirrorsProof(t *testing.T) {
	proven := time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC)
	st := statusFromRunner(runnerapi.Backup{ID: "20261121T030000Z-abcd", Status: phase.Completed,
		Offsite: runnerapi.OffsiteCopied, ProvenRestorableTime: proven}, nil)
	if st.Offsite != "Copied" || st.ProvenRestorableTime == nil || !st.ProvenRestorableTime.Time.Equal(proven) {
		t.Fatalf("status %+v", st)
	}
	if st := statusFromRunner(runnerapi.Backup{ID: "20261121T030000Z-abcd"}, nil); st.ProvenRestorableTime != nil || st.Offsite != "" {
		t.Fatalf("an unproven backup without offsite copy: %+v", st)
	}
}
