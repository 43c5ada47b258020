package kubectlcoffer_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// krewManifest is the part of a krew Plugin manifest the test reads.
type krewManifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// deploy/krew/coffer.yaml is a manifest krew accepts: every platform's
// archive named for its os and arch under the version's release, with a
// checksum — that of the archive in dist/ when deploy/krew/archives.sh
// built it.
func TestKrewManifest(t *testing.T) {
	root := testutil.RepoRoot()
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "krew", "coffer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m krewManifest
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("deploy/krew/coffer.yaml: %v", err)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "coffer" {
		t.Fatalf("not the coffer krew Plugin: %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m.Spec.Version) || m.Spec.ShortDescription == "" {
		t.Errorf("version %q (krew wants vMAJOR.MINOR.PATCH), shortDescription %q", m.Spec.Version, m.Spec.ShortDescription)
	}
	seen := map[string]bool{}
	hexSum := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		archive := "kubectl-coffer_" + goos + "_" + arch + ".tar.gz"
		seen[goos+"/"+arch] = true
		if !strings.HasSuffix(p.URI, "/releases/download/"+m.Spec.Version+"/"+archive) {
			t.Errorf("%s/%s: uri %s is not %s of release %s", goos, arch, p.URI, archive, m.Spec.Version)
		}
		if p.Bin != "kubectl-coffer" {
			t.Errorf("%s/%s: bin %q", goos, arch, p.Bin)
		}
		if !hexSum.MatchString(p.SHA256) {
			t.Errorf("%s/%s: sha256 %q (deploy/krew/archives.sh writes it)", goos, arch, p.SHA256)
			continue
		}
		if b, err := os.ReadFile(filepath.Join(root, "dist", archive)); err == nil {
			sum := sha256.Sum256(b)
			if got := hex.EncodeToString(sum[:]); got != p.SHA256 {
				t.Errorf("%s/%s: dist/%s has sha256 %s, the manifest says %s (rerun deploy/krew/archives.sh)", goos, arch, archive, got, p.SHA256)
			}
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"} {
		if !seen[want] {
			t.Errorf("no archive for %s", want)
		}
	}
}
