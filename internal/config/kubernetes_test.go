package config

import (
	"strings"
	"testing"
)

// kubernetesConfig is a standalone config with a kubernetes target; block
// is the target's block, encryption the storage's (empty for none).
func kubernetesConfig(block, encryption string) []byte {
	return []byte(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec:
  filesystem: {path: /tmp/coffer}
` + encryption + `---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: cluster, namespace: ops}
spec:
  storageRef: {name: local}
  targets:
  - name: resources
    kubernetes: ` + block + `
---
apiVersion: v1
kind: Secret
metadata: {name: kube}
stringData: {config: "apiVersion: v1\nkind: Config\n"}
`)
}

const ageEncryption = "  encryption: {recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}\n"

// TestKubernetesTarget: the registry's checks of a kubernetes block run in
// config validation, the storage's encryption among them.
func TestKubernetesTarget(t *testing.T) {
	cases := map[string]struct {
		block, encryption string
		want              []string // substrings of the error; none means valid
	}{
		"secrets in clear refused": {block: "{kubeconfigSecretRef: {name: kube, key: config}}",
			want: []string{"spec.targets[0].kubernetes", "includes Secrets and the storage has no encryption"}},
		"secrets encrypted":     {block: "{kubeconfigSecretRef: {name: kube, key: config}}", encryption: ageEncryption},
		"secrets excluded":      {block: "{excludedResources: [secrets], kubeconfigSecretRef: {name: kube, key: config}}"},
		"secrets not included":  {block: "{includedResources: [configmaps, deployments.apps], kubeconfigSecretRef: {name: kube, key: config}}"},
		"clear secrets allowed": {block: "{allowUnencryptedSecrets: true, kubeconfigSecretRef: {name: kube, key: config}}"},
		"glob includes secrets": {block: "{includedResources: ['secret*'], kubeconfigSecretRef: {name: kube, key: config}}",
			want: []string{"includes Secrets"}},
		"bad ordered entry": {block: `{orderedResources: {pods: "ns1/a,~ns1/web-("}, excludedResources: [secrets]}`,
			want: []string{"spec.targets[0].kubernetes.orderedResources", `pods: entry 2 "~ns1/web-("`, "invalid regular expression"}},
		"bad pattern": {block: `{includedNamespaces: ["[a-"], excludedResources: [secrets]}`,
			want: []string{"spec.targets[0].kubernetes.includedNamespaces[0]", `bad pattern "[a-"`}},
		"missing kubeconfig Secret": {block: "{kubeconfigSecretRef: {name: nope, key: config}, excludedResources: [secrets]}",
			want: []string{"spec.targets[0].kubernetes.kubeconfigSecretRef", `Secret "nope" is not in the file`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("k.yaml", kubernetesConfig(tc.block, tc.encryption))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse accepted the config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
