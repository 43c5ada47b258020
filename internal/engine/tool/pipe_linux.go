package tool

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// growPipe asks for a pipe buffer of size bytes on r, when r is a pipe.
// Best effort: the system's limits (fs.pipe-max-size, a user's pipe pages)
// may refuse it, and the default buffer then stays.
func growPipe(r io.Reader, size int) {
	sc, ok := r.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) })
}
