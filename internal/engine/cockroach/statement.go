package cockroach

import (
	"errors"
	"strings"
)

// errNUL: neither an identifier nor a string literal can hold a NUL byte.
var errNUL = errors.New("a NUL byte cannot be sent in a statement")

// backupStatement backs up database db into the collection at url.
func backupStatement(db, url string) (string, error) {
	if strings.ContainsRune(db+url, 0) {
		return "", errNUL
	}
	return "BACKUP DATABASE " + quoteIdent(db) + " INTO " + quoteLiteral(url) +
		" AS OF SYSTEM TIME '-10s'", nil
}

// restoreStatement restores database db from the newest backup of the
// collection at url, under the name into.
func restoreStatement(db, url, into string) (string, error) {
	if strings.ContainsRune(db+url+into, 0) {
		return "", errNUL
	}
	s := "RESTORE DATABASE " + quoteIdent(db) + " FROM LATEST IN " + quoteLiteral(url)
	if into != db {
		s += " WITH new_db_name = " + quoteLiteral(into)
	}
	return s, nil
}

// dropStatement drops database db and everything in it.
func dropStatement(db string) (string, error) {
	if strings.ContainsRune(db, 0) {
		return "", errNUL
	}
	return "DROP DATABASE IF EXISTS " + quoteIdent(db) + " CASCADE", nil
}

// quoteIdent quotes an identifier: always, so that case, keywords and any
// character survive; a double quote is doubled.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes a string constant; a single quote is doubled.
// CockroachDB (like PostgreSQL with standard_conforming_strings, its only
// mode) takes backslashes in '...' literally.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
