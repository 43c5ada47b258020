package kubectlcoffer

import (
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/controller"
)

// The plugin's restated names must be the controller's (names.go says why
// they are restated).
func TestNamesAreTheControllers(t *testing.T) {
	long := strings.Repeat("a", 240)
	cases := [][2]string{{"default", "shop"}, {"apps", "a.b"}, {"apps", "a-b"}, {"a-namespace-that-is-long", "and-a-definition-that-is-long-too"},
		{"ns", long}, {"ns", long + ".x"}, {strings.Repeat("n", 63), "d"}}
	for _, c := range cases {
		if got, want := runnerName(c[0], c[1]), controller.RunnerName(c[0], c[1]); got != want {
			t.Errorf("runnerName(%q, %q) = %q, controller says %q", c[0], c[1], got, want)
		}
		if got, want := labelValue(c[1]), controller.LabelValue(c[1]); got != want {
			t.Errorf("labelValue(%q) = %q, controller says %q", c[1], got, want)
		}
	}
	for got, want := range map[string]string{
		labelDefinition: controller.LabelDefinition, conditionReady: controller.ConditionReady,
		conditionRunnerReachable: controller.ConditionRunnerReachable, conditionForwarded: controller.ConditionForwarded,
		conditionPinForwarded: controller.ConditionPinForwarded, reasonNothingToPin: controller.ReasonNothingToPin,
	} {
		if got != want {
			t.Errorf("the plugin says %q where the controller says %q", got, want)
		}
	}
}
