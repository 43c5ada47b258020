package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRunnerImageEntrypoint: the operator renders the subcommand as the
// container's args ("run", "push-dir", "pull-dir"), so the runner image's
// entrypoint must be the bare binary; an entrypoint that already says "run"
// would turn every pod's command into "coffer-runner run run ...".
func TestRunnerImageEntrypoint(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "build", "coffer-runner.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var entry string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "ENTRYPOINT") {
			entry = strings.TrimSpace(strings.TrimPrefix(line, "ENTRYPOINT"))
		}
	}
	if entry != `["coffer-runner"]` {
		t.Fatalf("runner image ENTRYPOINT is %s, want [\"coffer-runner\"]", entry)
	}
}
