package tool

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// growPipe asks for a pipe buffer of size bytes on end, when it is either
// end of a pipe. Best effort: the system's limits (fs.pipe-max-size, a
// user's pipe pages) may refuse it, and the default buffer then stays.
func growPipe(end any, size int) {
	sc, ok := end.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) })
}
