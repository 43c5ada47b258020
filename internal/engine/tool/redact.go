package tool

// redacted hides secrets from an error's message while keeping its chain
// for errors.Is and errors.As.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// Redact returns err with every secret scrubbed from its message. Engines
// apply it at their boundary, as a last line of defence: client libraries
// and tools are not supposed to echo passwords, but none of them promises it.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := Scrub(err.Error(), secrets...)
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}
