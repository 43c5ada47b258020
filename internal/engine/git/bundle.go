package git

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxHeaderLine bounds one line of a bundle header (an object id and a
// ref name).
const maxHeaderLine = 64 << 10

var errNotBundle = errors.New("not a git bundle")

// bundleHeader is what precedes the pack in a bundle (formats v2 and v3).
type bundleHeader struct {
	objectFormat string // "sha1" or "sha256"
	refs         []bundleRef
	head         string // the object HEAD pointed at, if the bundle says
}

type bundleRef struct{ oid, name string }

// readBundleHeader reads the header and leaves r at the start of the pack.
// A bundle that needs objects it does not hold (an incremental one), or
// holds only some (a filtered one), cannot rebuild a repository: refused.
func readBundleHeader(r *bufio.Reader) (bundleHeader, error) {
	h := bundleHeader{objectFormat: "sha1"}
	first, err := headerLine(r)
	if err != nil {
		return h, fmt.Errorf("%w: %w", errNotBundle, err)
	}
	var v3 bool
	switch first {
	case "# v2 git bundle":
	case "# v3 git bundle":
		v3 = true
	default:
		return h, fmt.Errorf("%w: it starts with %q", errNotBundle, clip(first))
	}
	for {
		line, err := headerLine(r)
		if err != nil {
			return h, fmt.Errorf("reading the bundle header: %w", err)
		}
		switch {
		case line == "":
			if len(h.refs) == 0 && h.head == "" {
				return h, errors.New("the bundle holds no refs")
			}
			return h, nil
		case v3 && line[0] == '@':
			key, value, _ := strings.Cut(line[1:], "=")
			switch key {
			case "object-format":
				h.objectFormat = value
			case "filter":
				return h, fmt.Errorf("the bundle is filtered (%s): it does not hold every object", value)
			default:
				return h, fmt.Errorf("the bundle needs capability %q", key)
			}
		case line[0] == '-':
			return h, errors.New("the bundle is incremental: it needs commits it does not hold")
		default:
			oid, name, ok := strings.Cut(line, " ")
			if !ok || !isOID(oid) || name == "" {
				return h, fmt.Errorf("bad ref line %q in the bundle header", clip(line))
			}
			if name == "HEAD" {
				h.head = oid
				continue
			}
			h.refs = append(h.refs, bundleRef{oid: oid, name: name})
		}
	}
}

func headerLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxHeaderLine {
			return "", errors.New("header line too long")
		}
		if err == nil {
			return strings.TrimSuffix(string(line), "\n"), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
}

func isOID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// headRef is the branch HEAD should name: the one HEAD pointed at, with
// main and master first when several did; else main, master, or the first
// branch.
func (h bundleHeader) headRef() string {
	var branches []bundleRef
	for _, ref := range h.refs {
		if strings.HasPrefix(ref.name, "refs/heads/") {
			branches = append(branches, ref)
		}
	}
	for _, match := range []bool{true, false} {
		for _, preferred := range []string{"refs/heads/main", "refs/heads/master", ""} {
			for _, b := range branches {
				if (preferred == "" || b.name == preferred) && (!match || b.oid == h.head) {
					return b.name
				}
			}
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
