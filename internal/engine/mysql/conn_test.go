package mysql

import "testing"

func TestOptionValue(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":     {"s3cret", `"s3cret"`},
		"hash":      {"a#b", `"a#b"`},
		"quotes":    {`a"b'c`, `"a\"b'c"`},
		"backslash": {`a\b`, `"a\\b"`},
		"spaces":    {" a b ", `" a b "`},
		"controls":  {"a\nb\rc\td", `"a\nb\rc\td"`},
		"empty":     {"", `""`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := optionValue(tc.in); got != tc.want {
				t.Errorf("optionValue(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestQuoteIdent(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":    {"shop", "`shop`"},
		"backtick": {"a`b", "`a``b`"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := quoteIdent(tc.in); got != tc.want {
				t.Errorf("quoteIdent(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
