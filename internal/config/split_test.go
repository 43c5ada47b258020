package config

import (
	"os"
	"strings"
	"testing"
)

// TestSingleLineDocuments: a flow mapping on the line of its "---" is
// valid YAML and loads.
func TestSingleLineDocuments(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	valid := string(data) + "\n--- {apiVersion: v1, kind: Secret, metadata: {name: extra}, stringData: {password: Sup3rS3cret}}\n...\n"
	c, err := Parse("valid.yaml", []byte(valid))
	if err != nil {
		t.Fatalf("single-line document refused: %v", err)
	}
	if got := string(c.Secrets["extra"]["password"]); got != "Sup3rS3cret" {
		t.Fatalf("secret extra.password = %q", got)
	}
}

// TestConfigErrorsCarryNoDocumentText: whatever is wrong with a document,
// its error names the file and document but never quotes a value, and
// stays short even when a line is 1 MB.
func TestConfigErrorsCarryNoDocumentText(t *testing.T) {
	t.Parallel()
	const secret = "Sup3rS3cretValue"
	huge := strings.Repeat("A", 1<<20)
	cases := map[string]string{
		"unterminated flow mapping": "--- {kind: Secret, apiVersion: v1, metadata: {name: x}, stringData: {password: " + secret + "}\n",
		"tab indentation":           "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData:\n\tpassword: " + secret + "\n",
		"duplicate key":             "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: " + secret + ", password: " + secret + "}\n",
		"bad quoting":               "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: \"" + secret + "}\n",
		"wrong type":                "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: [" + secret + "]\n",
		"mapping in scalar":         "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: " + secret + ": x: y}\n",
		"huge line":                 "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: " + secret + huge + "\n",
		"huge unknown field":        "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: " + secret + "}\n" + huge + ": 1\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("coffer.yaml", []byte(doc))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, "Sup3r") {
				t.Fatalf("error carries the secret: %.300s", msg)
			}
			if len(msg) > 1000 {
				t.Fatalf("error is %d bytes long: %.200s", len(msg), msg)
			}
			if !strings.Contains(msg, "coffer.yaml") {
				t.Fatalf("error does not name the file: %s", msg)
			}
		})
	}
}
