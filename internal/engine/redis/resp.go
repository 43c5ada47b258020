package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxBulk bounds a bulk reply read into memory (not the snapshot, which is
// streamed).
const maxBulk = 512 << 20

// reply is one RESP2 reply.
type reply struct {
	kind  byte // '+', '-', ':', '$', '*'
	str   []byte
	n     int64
	elems []reply
	null  bool
}

// serverError is an error reply (-ERR, -WRONGPASS, ...).
type serverError string

func (e serverError) Error() string { return string(e) }

// text is a reply as text, for messages and simple values.
func (r reply) text() string {
	switch r.kind {
	case ':':
		return strconv.FormatInt(r.n, 10)
	case '*':
		parts := make([]string, len(r.elems))
		for i, e := range r.elems {
			parts[i] = e.text()
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	if r.null {
		return "(nil)"
	}
	return string(r.str)
}

// writeCommand sends args as a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, args ...string) error {
	fmt.Fprintf(w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(w, "$%d\r\n", len(a))
		_, _ = w.WriteString(a)
		_, _ = w.WriteString("\r\n")
	}
	return w.Flush()
}

// readLine reads one line without its CR LF.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// readReply reads one reply; an error reply is returned as a reply, not an
// error, so the caller decides.
func readReply(r *bufio.Reader) (reply, error) {
	line, err := readLine(r)
	if err != nil {
		return reply{}, err
	}
	if line == "" {
		return reply{}, errors.New("protocol error: empty line")
	}
	rep := reply{kind: line[0]}
	body := line[1:]
	switch rep.kind {
	case '+', '-':
		rep.str = []byte(body)
	case ':':
		if rep.n, err = strconv.ParseInt(body, 10, 64); err != nil {
			return reply{}, fmt.Errorf("protocol error: integer %q", body)
		}
	case '$':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil || n > maxBulk {
			return reply{}, fmt.Errorf("protocol error: bulk length %q", body)
		}
		if n < 0 {
			rep.null = true
			return rep, nil
		}
		rep.str = make([]byte, n+2)
		if _, err := io.ReadFull(r, rep.str); err != nil {
			return reply{}, err
		}
		rep.str = rep.str[:n]
	case '*':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil || n > 1<<24 {
			return reply{}, fmt.Errorf("protocol error: array length %q", body)
		}
		if n < 0 {
			rep.null = true
			return rep, nil
		}
		rep.elems = make([]reply, n)
		for i := range rep.elems {
			if rep.elems[i], err = readReply(r); err != nil {
				return reply{}, err
			}
		}
	default:
		return reply{}, fmt.Errorf("protocol error: unexpected reply %q", clip(line))
	}
	return rep, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
