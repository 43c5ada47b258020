// Command kubectl-coffer is Coffer's kubectl plugin: `kubectl coffer
// backup|list|describe|restore|pin|unpin|status|logs|coverage`. The code is
// internal/kubectlcoffer; the documentation docs/kubectl-plugin.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/coffer-dev/coffer/internal/kubectlcoffer"
)

// version is set by the Makefile (-X main.version).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := kubectlcoffer.Run(ctx, os.Args[1:], kubectlcoffer.Options{
		Out: os.Stdout, ErrOut: os.Stderr, Terminal: isTerminal(os.Stdout), Version: version,
	})
	stop()
	os.Exit(code)
}

// isTerminal: f is a character device (a terminal), not a file or a pipe.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
