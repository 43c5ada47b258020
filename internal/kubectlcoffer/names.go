package kubectlcoffer

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The controller's names, labels and condition types the plugin reads and
// writes. They are internal/controller's (names.go, conditions.go), restated
// here because importing that package links every engine and storage
// client into the plugin (86 MB instead of 29). names_test.go holds
// them equal to the controller's, so they cannot drift.
const (
	labelDefinition = "coffer.dev/definition"

	conditionReady           = "Ready"
	conditionRunnerReachable = "RunnerReachable"
	conditionForwarded       = "Forwarded"
	conditionPinForwarded    = "PinForwarded"
	reasonNothingToPin       = "NothingToPin"

	maxRunnerNameLength = 52
	maxLabelValueLength = 63
)

// runnerName is controller.RunnerName: runner-<namespace>-<name>, shortened
// with a hash when longer than 52, dots made dashes.
func runnerName(namespace, name string) string {
	full := "runner-" + namespace + "-" + name
	if !strings.Contains(name, ".") {
		return shorten(full, namespace+"/"+name, maxRunnerNameLength)
	}
	return withHash(strings.ReplaceAll(full, ".", "-"), namespace+"/"+name, maxRunnerNameLength)
}

// labelValue is controller.LabelValue.
func labelValue(s string) string { return shorten(s, s, maxLabelValueLength) }

func shorten(s, key string, max int) string {
	if len(s) <= max {
		return s
	}
	return withHash(s, key, max)
}

func withHash(s, key string, max int) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	if len(s) > max-len(suffix) {
		s = s[:max-len(suffix)]
	}
	return strings.TrimRight(s, "-.") + suffix
}
