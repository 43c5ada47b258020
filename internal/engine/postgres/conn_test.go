package postgres

import "testing"

func TestPgpass(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":     {"s3cret", "*:*:*:*:s3cret\n"},
		"colon":     {"a:b", `*:*:*:*:a\:b` + "\n"},
		"backslash": {`a\b`, `*:*:*:*:a\\b` + "\n"},
		"others":    {`"#' =;$`, `*:*:*:*:"#' =;$` + "\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := pgpass(tc.in)
			if err != nil || string(got) != tc.want {
				t.Errorf("pgpass(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	if _, err := pgpass("a\nb"); err == nil {
		t.Error("pgpass accepted a line break")
	}
}
