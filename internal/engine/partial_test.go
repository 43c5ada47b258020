package engine_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
)

type partial struct{ items []engine.FailedItem }

func (p *partial) Error() string                    { return "partial" }
func (p *partial) Unwrap() error                    { return engine.ErrPartiallyFailed }
func (p *partial) FailedItems() []engine.FailedItem { return p.items }

// TestFailedItems: the failed items of every target's partial failure are
// found through %w and errors.Join, in order; other errors hold none.
func TestFailedItems(t *testing.T) {
	a := []engine.FailedItem{{Target: "a", Item: "configmaps x/1", Reason: "forbidden"}}
	b := []engine.FailedItem{{Target: "b", Item: "secrets y/2"}, {Target: "b", Item: "secrets y/3"}}
	tests := map[string]struct {
		err  error
		want []engine.FailedItem
	}{
		"nil":          {nil, nil},
		"plain":        {errors.New("boom"), nil},
		"wrapped":      {fmt.Errorf("target a: %w", &partial{a}), a},
		"joined":       {errors.Join(fmt.Errorf("t a: %w", &partial{a}), fmt.Errorf("t b: %w", &partial{b})), append(append([]engine.FailedItem{}, a...), b...)},
		"joined plain": {errors.Join(errors.New("x"), &partial{b}), b},
	}
	for name, tc := range tests {
		if got := engine.FailedItems(tc.err); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", name, got, tc.want)
		}
	}
}
