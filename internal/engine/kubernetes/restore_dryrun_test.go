package kubernetes

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// rewriteTar copies a tar, letting edit change or drop (nil) each entry's
// content.
func rewriteTar(t testing.TB, data []byte, edit func(name string, body []byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if body = edit(hdr.Name, body); body == nil {
			continue
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func dryRun(t testing.TB, e *Engine, tg engine.Target, data []byte) (engine.DryRunResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return e.DryRunRestore(ctx, tg, bytes.NewReader(data))
}

// TestDryRunRestoreCountsAgainstTheIndex: a restore test's dry run of a
// good backup has every indexed object read and accepted by the server,
// and changes nothing. An archive missing an object is a mismatch naming
// the resource; an object the server refuses is listed; an archive
// without its index is an error.
func TestDryRunRestoreCountsAgainstTheIndex(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := appNamespace(t, env)
	before := snapshot(t, env, ns)
	e := &Engine{}
	tg := target(t, env, v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}, IncludeClusterResources: true})
	data := backupBytes(t, e, tg)
	_, idx := tarEntries(t, data)
	indexed := 0
	for _, r := range idx.Resources {
		indexed += r.Objects
	}

	res, err := dryRun(t, e, tg, data)
	if err != nil {
		t.Fatal(err)
	}
	if res.Indexed != indexed || res.Read != indexed || res.Accepted+res.Unchecked != indexed || indexed < 10 ||
		len(res.Failed) != 0 || len(res.Mismatches) != 0 {
		t.Fatalf("dry run of a good backup (index lists %d): %+v", indexed, res)
	}
	compareSnapshots(t, before, snapshot(t, env, ns))

	web := "resources/deployments.apps/namespaces/" + ns + "/web.json"
	missing := rewriteTar(t, data, func(name string, body []byte) []byte {
		if name == web {
			return nil
		}
		return body
	})
	res, err = dryRun(t, e, tg, missing)
	if err != nil || len(res.Mismatches) != 1 || res.Mismatches[0] != "deployments.apps: the index lists 1 objects, the archive holds 0" {
		t.Fatalf("dry run of an archive without the deployment: %v, %+v", err, res)
	}

	refused := rewriteTar(t, data, func(name string, body []byte) []byte {
		if name == web {
			return bytes.Replace(body, []byte(`"replicas": 2`), []byte(`"replicas": -1`), 1)
		}
		return body
	})
	res, err = dryRun(t, e, tg, refused)
	if err != nil || len(res.Failed) != 1 || !strings.Contains(res.Failed[0], "deployments.apps "+ns+"/web: failed") ||
		res.Accepted+res.Unchecked != indexed-1 {
		t.Fatalf("dry run with an object the server refuses: %v, %+v", err, res)
	}

	noIndex := rewriteTar(t, data, func(name string, body []byte) []byte {
		if name == IndexName {
			return nil
		}
		return body
	})
	if _, err := dryRun(t, e, tg, noIndex); err == nil || !strings.Contains(err.Error(), "no index.json") {
		t.Fatalf("dry run of an archive without its index: %v", err)
	}
	compareSnapshots(t, before, snapshot(t, env, ns))
}
