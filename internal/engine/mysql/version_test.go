package mysql

import "testing"

func TestMariaDBAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"10.11.9-MariaDB-0+deb12u1": true,
		"10.5.0-MariaDB":            true,
		"11.4.2-MariaDB-ubu2404":    true,
		"5.5.5-10.6.12-MariaDB-log": true,
		"10.4.34-MariaDB":           false,
		"5.5.5-10.3.39-MariaDB":     false,
		"8.0.36":                    false, // MySQL: no database comments
		"8.4.0-MariaDB-lookalike.x": false, // below 10.5
		"MariaDB":                   false,
		"":                          false,
	} {
		if got := mariaDBAtLeast(v, 10, 5); got != want {
			t.Errorf("mariaDBAtLeast(%q, 10, 5) = %v, want %v", v, got, want)
		}
	}
}
