// Command coffer-runner backs up, lists, verifies and restores the targets
// of one BackupDefinition, reading everything from one config file. The same
// binary runs in the runner pod and standalone on a laptop or VM.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // time zones work in scratch images too

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/runner"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	limitContainerMemory(cgroupMemoryFiles)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		var u usageError
		switch {
		case errors.As(err, &u) || errors.Is(err, runner.ErrRequest):
			os.Exit(2)
		case errors.Is(err, engine.ErrPartiallyFailed):
			// Only partial failures are returned once every target was
			// restored: a script tells "some objects failed" from "failed".
			os.Exit(exitPartiallyFailed)
		}
		os.Exit(1)
	}
}

// globals are the flags every subcommand shares.
type globals struct {
	configPath string
	logLevel   string
	logFormat  string
	// from is the storage list, verify and restore read (--from).
	from string
	// leaseTTL is the lease's time to live for one-shot commands that set
	// it (0: lease.DefaultTTL).
	leaseTTL time.Duration
	// readingBackup is the runner's Options.ReadingBackup (restore and
	// verify: limitReadMemory).
	readingBackup func(*manifest.Manifest)
	stdout        io.Writer
	stderr        io.Writer
}

type usageError struct{ error }

// exitPartiallyFailed is restore's exit code when every target was
// restored but some items of a kubernetes target failed (docs/engines.md).
const exitPartiallyFailed = 3

// errNeedBackup: verify, restore and label act on one backup.
var errNeedBackup = usageError{errors.New("--backup is required: a backup id (see list) or latest")}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "coffer-runner",
		Short:         "Back up, list, verify and restore the targets of one Coffer backup definition",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configPath, "file", "f", "", "config file: BackupStorage + BackupDefinition + Secrets (multi-document YAML)")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(newBackupCommand(g), newListCommand(g), newVerifyCommand(g), newRestoreCommand(g),
		newRunCommand(g), newLabelCommand(g), newPruneCommand(g), newPushDirCommand(g), newPullDirCommand(g),
		newOffsiteCommand(g))
	return root
}

func (g *globals) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, hopts)), nil
	default:
		return nil, usageError{fmt.Errorf("--log-format must be text or json, not %q", g.logFormat)}
	}
}

// addFromFlag gives a command that reads backups the --from flag.
func (g *globals) addFromFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&g.from, "from", "primary", "the storage to read: primary, or offsite (the storage's spec.offsite copy, e.g. when the primary is lost)")
}

// open loads the config and opens its runner.
func (g *globals) open(ctx context.Context) (*config.Config, *runner.Runner, error) {
	if g.configPath == "" {
		return nil, nil, usageError{errors.New("-f/--file is required: the config file to use")}
	}
	log, err := g.logger()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(g.configPath)
	if err != nil {
		return nil, nil, err
	}
	if g.from != "" && g.from != v1alpha1.FromPrimary && g.from != v1alpha1.FromOffsite {
		return nil, nil, usageError{fmt.Errorf("--from must be %s or %s, not %q", v1alpha1.FromPrimary, v1alpha1.FromOffsite, g.from)}
	}
	r, err := runner.New(ctx, cfg, runner.Options{Version: version, Log: log, From: g.from, ReadingBackup: g.readingBackup})
	if err != nil {
		return nil, nil, err
	}
	return cfg, r, nil
}
