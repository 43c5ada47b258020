package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
)

// maxErrorDetail bounds what a YAML parser's message may add to an error.
const maxErrorDetail = 120

// splitDocuments splits a multi-document YAML stream with a real YAML
// parser, so every document form YAML allows loads (a flow mapping on the
// same line as its "---", comments, "..." ends), and drops empty documents.
// Each document comes back re-serialised on its own.
func splitDocuments(data []byte) ([][]byte, error) {
	dec := yaml3.NewDecoder(bytes.NewReader(data))
	var docs [][]byte
	for i := 1; ; i++ {
		var node yaml3.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: invalid YAML: %s", i, yamlReason(err))
		}
		if isEmptyDocument(&node) {
			continue
		}
		doc, err := yaml3.Marshal(&node)
		if err != nil {
			return nil, fmt.Errorf("document %d: invalid YAML: %s", i, yamlReason(err))
		}
		docs = append(docs, doc)
	}
}

func isEmptyDocument(n *yaml3.Node) bool {
	if n.Kind == 0 {
		return true
	}
	if n.Kind == yaml3.DocumentNode {
		return len(n.Content) == 0 || (n.Content[0].Kind == yaml3.ScalarNode && n.Content[0].Tag == "!!null")
	}
	return false
}

// omitQuoted replaces what a parser quoted from the input (`...`, "..."
// and '...', paired left to right) when it is three characters or more;
// shorter ones are the punctuation a parser expected, such as ',' or '}'.
func omitQuoted(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c != '`' && c != '"' && c != '\'' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(msg[i+1:], c)
		if end < 0 {
			b.WriteString("(text omitted)")
			break
		}
		if end >= 3 {
			b.WriteString("(text omitted)")
		} else {
			b.WriteString(msg[i : i+end+2])
		}
		i += end + 1
	}
	return b.String()
}

// yamlReason keeps a parser error's position and reason but never the
// document's text: a config error must not carry a Secret's value, and a
// 1 MB line must not make a 1 MB message.
func yamlReason(err error) string {
	msg := omitQuoted(err.Error())
	if len(msg) > maxErrorDetail {
		msg = msg[:maxErrorDetail] + "…"
	}
	return msg
}
