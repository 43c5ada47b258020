package mysql

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestScratchName: the destination's name first, cut so the whole stays
// within MariaDB's 64 characters, counted as characters, not bytes.
func TestScratchName(t *testing.T) {
	tests := map[string]struct{ db, prefix string }{
		"short":     {"shop", "shop_coffer_"},
		"long":      {strings.Repeat("a", 64), strings.Repeat("a", 48) + "_coffer_"},
		"multibyte": {strings.Repeat("ü", 60), strings.Repeat("ü", 48) + "_coffer_"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := scratchName(tc.db)
			if !strings.HasPrefix(got, tc.prefix) || utf8.RuneCountInString(got) > maxName {
				t.Errorf("scratchName(%q) = %q", tc.db, got)
			}
			if scratchName(tc.db) == got {
				t.Error("two scratch names are the same")
			}
		})
	}
}

func TestDropObject(t *testing.T) {
	tests := map[string]struct {
		o    object
		want string
	}{
		"table":     {object{"base table", "t"}, "DROP TABLE IF EXISTS `d`.`t`"},
		"view":      {object{"view", "v`x"}, "DROP VIEW IF EXISTS `d`.`v``x`"},
		"sequence":  {object{"sequence", "s"}, "DROP SEQUENCE IF EXISTS `d`.`s`"},
		"routine":   {object{"procedure", "p"}, "DROP PROCEDURE IF EXISTS `d`.`p`"},
		"event":     {object{"event", "e"}, "DROP EVENT IF EXISTS `d`.`e`"},
		"versioned": {object{"system versioned", "h"}, "DROP TABLE IF EXISTS `d`.`h`"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := dropObject("d", tc.o); got != tc.want {
				t.Errorf("dropObject = %s, want %s", got, tc.want)
			}
		})
	}
}
