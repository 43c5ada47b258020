package runner_test

import (
	"testing"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestMain stops the shared API server the kubernetes restore tests start
// (only they start it).
func TestMain(m *testing.M) { testutil.EnvtestMain(m) }
