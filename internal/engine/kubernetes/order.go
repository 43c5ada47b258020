package kubernetes

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Order is a parsed orderedResources: for each resource key as written
// ("pods", "deployments.apps"), its entries in order.
type Order map[string][]OrderEntry

// OrderEntry is one entry of an ordered list: an exact "namespace/name"
// (or "name" for a cluster-scoped resource), or a regular expression
// matched against the whole "namespace/name".
type OrderEntry struct {
	// Text is the entry as written, "~" included.
	Text  string
	exact string
	re    *regexp.Regexp
}

// Matches reports whether the object key ("namespace/name", or "name")
// matches the entry.
func (e OrderEntry) Matches(key string) bool {
	if e.re != nil {
		return e.re.MatchString(key)
	}
	return e.exact == key
}

// resourceName is a resource as users name it: "pods", "deployments.apps".
var resourceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// ErrOrder wraps every error about orderedResources.
var ErrOrder = errors.New("invalid orderedResources")

// ParseOrder parses the map form: resource → comma-separated entries.
// Every malformed key, entry or regular expression is reported, each
// naming the key and the entry.
func ParseOrder(m map[string]string) (Order, error) {
	o := Order{}
	var errs []error
	for _, key := range sortedKeys(m) {
		if err := checkResourceKey(key); err != nil {
			errs = append(errs, err)
			continue
		}
		entries, err := parseEntries(key, m[key])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		o[key] = entries
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return o, nil
}

// ParseFlat parses the seed's flat form, resource=entries pairs separated
// by semicolons: "pods=ns1/pod1,~ns1/web-.*;persistentvolumeclaims=ns2/data".
// A comma or semicolon inside brackets, braces or parentheses of a regular
// expression, or escaped with a backslash, does not separate.
func ParseFlat(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, pair := range split(s, ';') {
		key, value, ok := strings.Cut(pair, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not resource=entries", ErrOrder, pair)
		}
		if err := checkResourceKey(key); err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: resource %q is given twice", ErrOrder, key)
		}
		out[key] = strings.TrimSpace(value)
	}
	if _, err := ParseOrder(out); err != nil {
		return nil, err
	}
	return out, nil
}

// FormatFlat is the flat form of m, keys sorted; ParseFlat reads it back.
func FormatFlat(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ";")
}

func checkResourceKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty resource name", ErrOrder)
	case !resourceName.MatchString(key):
		return fmt.Errorf("%w: resource %q: not a resource name (like pods or deployments.apps)", ErrOrder, key)
	}
	return nil
}

func parseEntries(key, list string) ([]OrderEntry, error) {
	var out []OrderEntry
	for i, raw := range split(list, ',') {
		text := strings.TrimSpace(raw)
		e, err := parseEntry(text)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: entry %d %q: %v", ErrOrder, key, i+1, text, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseEntry(text string) (OrderEntry, error) {
	if text == "" {
		return OrderEntry{}, errors.New("empty entry")
	}
	if expr, ok := strings.CutPrefix(text, "~"); ok {
		if expr == "" {
			return OrderEntry{}, errors.New("empty regular expression")
		}
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return OrderEntry{}, fmt.Errorf("invalid regular expression: %v", err)
		}
		return OrderEntry{Text: text, re: re}, nil
	}
	if strings.IndexFunc(text, unicode.IsSpace) >= 0 || strings.ContainsAny(text, `\()[]{}`) {
		return OrderEntry{}, errors.New(`names hold no spaces, backslashes or brackets (a regular expression starts with "~")`)
	}
	parts := strings.Split(text, "/")
	if len(parts) > 2 {
		return OrderEntry{}, errors.New(`want "namespace/name", "name", or "~regexp"`)
	}
	for _, p := range parts {
		if p == "" {
			return OrderEntry{}, errors.New(`want "namespace/name", "name", or "~regexp"`)
		}
	}
	return OrderEntry{Text: text, exact: text}, nil
}

// split cuts s at sep, except inside (), [] or {} and after a backslash,
// so regular expressions keep their commas and semicolons.
func split(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '(' || c == '[' || c == '{':
			depth++
		case (c == ')' || c == ']' || c == '}') && depth > 0:
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// For returns the entries that order resource r: those of its full name
// ("deployments.apps"), else of its bare name ("deployments").
func (o Order) For(r Resource) []OrderEntry {
	if e, ok := o[r.String()]; ok {
		return e
	}
	return o[r.Name]
}

// rank is the index of the first entry that key matches, or -1.
func rank(entries []OrderEntry, key string) int {
	for i, e := range entries {
		if e.Matches(key) {
			return i
		}
	}
	return -1
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
