package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

// newPullDirCommand is what a volume's writer pod runs: fetch the restore
// stream from the runner's session, extract it into the mounted directory,
// and report the outcome back, so the runner's Restore ends only when the
// data is on the volume.
func newPullDirCommand(g *globals) *cobra.Command {
	var dir, urlFile string
	var clean bool
	cmd := &cobra.Command{
		Use:    "pull-dir",
		Short:  "Restore a directory from a runner's restore session (run by volume writer pods)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || urlFile == "" {
				return usageError{errors.New("--dir and --url-file are required")}
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			base, err := sessionURL(urlFile)
			if err != nil {
				return err
			}
			err = pullDir(cmd.Context(), &filesystem.Engine{Log: log}, dir, clean, base+"volume.tar")
			outcome := "ok"
			if err != nil {
				outcome = err.Error()
			}
			if rerr := report(cmd.Context(), base+"volume.result", outcome); rerr != nil && err == nil {
				err = rerr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to restore into (the mounted volume)")
	cmd.Flags().StringVar(&urlFile, "url-file", "", "file holding the restore session URL")
	cmd.Flags().BoolVar(&clean, "clean", false, "replace what the directory holds")
	return cmd
}

func pullDir(ctx context.Context, fs *filesystem.Engine, dir string, clean bool, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return errors.New("invalid session URL")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the restore stream: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the runner refused the restore stream: %s", resp.Status)
	}
	t := engine.Target{Spec: v1alpha1.Target{Name: "volume", Filesystem: &v1alpha1.FilesystemTarget{Path: dir}}}
	// The destination is the mounted volume itself: its root exists.
	return fs.Restore(ctx, t, resp.Body, engine.RestoreOptions{IntoPath: dir, Clean: clean})
}

func report(ctx context.Context, url, outcome string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(outcome))
	if err != nil {
		return errors.New("invalid session URL")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reporting to the runner: %w", unwrapURLError(err))
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the runner refused the report: %s", resp.Status)
	}
	return nil
}

// unwrapURLError drops the URL (it holds the session token) from a client error.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		return ue.Unwrap()
	}
	return err
}
