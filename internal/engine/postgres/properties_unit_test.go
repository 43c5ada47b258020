package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// TestCreateOptions covers the server versions the shared server is not:
// no locale provider before 15, the builtin provider's locale on 17.
func TestCreateOptions(t *testing.T) {
	libc := &manifest.DatabaseProperties{Encoding: "LATIN1", Collation: "C", Ctype: "C", LocaleProvider: "libc"}
	icu := &manifest.DatabaseProperties{Encoding: "UTF8", Collation: "C", Ctype: "C", LocaleProvider: "icu", ICULocale: "de-DE"}
	builtin := &manifest.DatabaseProperties{Encoding: "UTF8", Collation: "C", Ctype: "C", LocaleProvider: "builtin", ICULocale: "C.UTF-8"}
	tests := map[string]struct {
		p    *manifest.DatabaseProperties
		num  int
		want string
	}{
		"none":          {nil, 150000, ""},
		"libc on 14":    {libc, 140000, ` ENCODING E'LATIN1' LC_COLLATE E'C' LC_CTYPE E'C'`},
		"libc on 15":    {libc, 150000, ` ENCODING E'LATIN1' LC_COLLATE E'C' LC_CTYPE E'C' LOCALE_PROVIDER E'libc'`},
		"icu on 15":     {icu, 150000, ` ENCODING E'UTF8' LC_COLLATE E'C' LC_CTYPE E'C' LOCALE_PROVIDER E'icu' ICU_LOCALE E'de-DE'`},
		"builtin":       {builtin, 170000, ` ENCODING E'UTF8' LC_COLLATE E'C' LC_CTYPE E'C' LOCALE_PROVIDER E'builtin' BUILTIN_LOCALE E'C.UTF-8'`},
		"quotes":        {&manifest.DatabaseProperties{Collation: `it's\x`}, 150000, ` LC_COLLATE E'it''s\\x'`},
		"only encoding": {&manifest.DatabaseProperties{Encoding: "SQL_ASCII"}, 90600, ` ENCODING E'SQL_ASCII'`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := createOptions(tc.p, tc.num)
			if err != nil || got != tc.want {
				t.Errorf("createOptions = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := createOptions(icu, 140000); err == nil || !strings.Contains(err.Error(), "icu") {
		t.Errorf("icu on 14: error = %v, want one naming the provider", err)
	}
}

// TestCheckProperties: only what the source recorded is compared.
func TestCheckProperties(t *testing.T) {
	got := &manifest.DatabaseProperties{Encoding: "UTF8", Collation: "C.UTF-8", Ctype: "C.UTF-8", LocaleProvider: "libc"}
	if err := checkProperties("db", &manifest.DatabaseProperties{Encoding: "UTF8"}, got); err != nil {
		t.Errorf("same encoding, nothing else recorded: %v", err)
	}
	err := checkProperties("db", &manifest.DatabaseProperties{Encoding: "UTF8", LocaleProvider: "icu", ICULocale: "de"}, got)
	if !errors.Is(err, engine.ErrPropertiesDiffer) {
		t.Fatalf("error = %v, want ErrPropertiesDiffer", err)
	}
	for _, want := range []string{`locale provider is "libc" there but was "icu"`, `icu locale is "" there but was "de"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
