package kubectlcoffer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/kubectlcoffer"
)

// Tables are compared with testdata/*.golden: their columns are a promise
// to scripts (docs/kubectl-plugin.md).
func TestTablesGolden(t *testing.T) {
	e := fixture(t)
	cases := []struct {
		golden string
		ns     string
		args   []string
	}{
		{"list", nsA, []string{"list"}},
		{"list-definition", nsA, []string{"list", "shop"}},
		{"list-wide", nsA, []string{"list", "shop", "-o", "wide"}},
		{"list-all-namespaces", "default", []string{"list", "shop", "-A"}},
		{"list-name", nsA, []string{"list", "ci", "-o", "name"}},
		{"describe-backup", nsA, []string{"describe", "backup", "shop-20261121t110000z-aaaa"}},
		{"describe-backup-failed", nsA, []string{"describe", "backup", "shop-ondemand-failed"}},
		{"status", nsA, []string{"status"}},
		{"status-definition", nsA, []string{"status", "shop"}},
		{"status-definition-not-ready", nsA, []string{"status", "ci"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			r := plugin(t, e, c.ns, c.args...)
			r.wantCode(t, kubectlcoffer.ExitOK)
			golden(t, c.golden, r.out)
		})
	}
}

func TestListJSONIsAListOfBackups(t *testing.T) {
	e := fixture(t)
	for _, format := range []string{"json", "yaml"} {
		r := plugin(t, e, nsA, "list", "shop", "-o", format)
		r.wantCode(t, kubectlcoffer.ExitOK)
		if format == "yaml" {
			contains(t, "list -o yaml", r.out, "kind: List", "kind: Backup", "name: shop-20261121t110000z-aaaa")
			continue
		}
		var list v1alpha1.BackupList
		if err := json.Unmarshal([]byte(r.out), &list); err != nil {
			t.Fatalf("list -o json: %v\n%s", err, r.out)
		}
		if list.Kind != "List" || len(list.Items) != 5 {
			t.Fatalf("list shop -o json: kind %q with %d items, want List with shop's 5", list.Kind, len(list.Items))
		}
		for _, b := range list.Items {
			if b.Kind != "Backup" || b.APIVersion != "coffer.dev/v1alpha1" || b.Spec.DefinitionRef.Name != "shop" {
				t.Errorf("item %s: %s %s of %s", b.Name, b.APIVersion, b.Kind, b.Spec.DefinitionRef.Name)
			}
		}
	}
}

func TestEmptyListSaysSoOnStderr(t *testing.T) {
	e := fixture(t)
	r := plugin(t, e, nsA, "list", "nothing-here")
	r.wantCode(t, kubectlcoffer.ExitOK)
	if r.out != "" || !strings.Contains(r.errOut, `no backups in namespace "plugin-a" of definition "nothing-here"`) {
		t.Errorf("stdout %q, stderr %q", r.out, r.errOut)
	}
}

// Usage errors exit 2 and say what to do; nothing is created.
func TestUsageErrors(t *testing.T) {
	e := fixture(t)
	cases := []struct {
		args []string
		says string
	}{
		{[]string{"list", "-o", "xml"}, `-o "xml" is not an output format`},
		{[]string{"list", "a", "b"}, "takes at most one DEFINITION"},
		{[]string{"backup"}, "needs the name of a BackupDefinition"},
		{[]string{"backup", "shop", "--no-such-flag"}, "unknown flag"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"restore", "latest"}, "restore latest needs --definition"},
		{[]string{"restore", "latest", "--definition", "shop", "--into-database", "x"}, "--into-database needs --target"},
		{[]string{"restore", "latest", "--definition", "shop", "--from", "tape"}, `--from "tape" is not a storage`},
		{[]string{"restore", "latest", "--definition", "shop", "--existing-resources", "replace"}, `--existing-resources "replace": skip or update`},
		{[]string{"restore", "latest", "--definition", "shop", "--namespace-mapping", "ab"}, "is not OLD=NEW"},
		{[]string{"restore", "shop-ondemand-failed"}, `is Failed, not Completed`},
		{[]string{"restore", "ci-20261121t113000z-dddd", "--definition", "shop"}, `belongs to definition "ci", not "shop"`},
		{[]string{"pin", "shop-ondemand-failed"}, "there is nothing to pin"},
		{[]string{"coverage", "--state", "red"}, `--state "red" is not a coverage state`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := plugin(t, e, nsA, c.args...)
			r.wantCode(t, kubectlcoffer.ExitUsage)
			contains(t, "stderr", r.errOut, c.says)
		})
	}
	var restores v1alpha1.RestoreList
	if err := e.Client.List(t.Context(), &restores); err != nil {
		t.Fatal(err)
	}
	for _, rs := range restores.Items {
		if rs.Namespace == nsA {
			t.Errorf("a refused restore created Restore %s", rs.Name)
		}
	}
}

func TestNotFound(t *testing.T) {
	e := fixture(t)
	cases := [][]string{
		{"backup", "nope"},
		{"describe", "backup", "nope"},
		{"restore", "nope"},
		{"restore", "latest", "--definition", "nope"},
		{"pin", "nope"},
		{"status", "nope"},
		{"logs", "nope"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := plugin(t, e, nsA, args...)
			r.wantCode(t, kubectlcoffer.ExitNotFound)
			contains(t, "stderr", r.errOut, `"nope" in namespace "plugin-a" does not exist`, "-n NAMESPACE")
		})
	}
	// The runner of ci was never rendered: logs say where to look.
	r := plugin(t, e, nsA, "logs", "ci")
	r.wantCode(t, kubectlcoffer.ExitNotFound)
	contains(t, "stderr", r.errOut, "the runner pod coffer-system/runner-plugin-a-ci-0 of plugin-a/ci does not exist", "kubectl coffer status ci")
}

func TestCompletionScripts(t *testing.T) {
	e := fixture(t)
	for _, shell := range []string{"bash", "zsh"} {
		r := plugin(t, e, nsA, "completion", shell)
		r.wantCode(t, kubectlcoffer.ExitOK)
		contains(t, shell+" completion", r.out, "kubectl-coffer")
	}
	// Dynamic completion reads names from the cluster.
	r := plugin(t, e, nsA, "__complete", "backup", "")
	r.wantCode(t, kubectlcoffer.ExitOK)
	contains(t, "completion of backup", r.out, "ci\n", "shop\n")
	r = plugin(t, e, nsA, "__complete", "restore", "l")
	contains(t, "completion of restore", r.out, "latest\n")
}
