package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

// newPushDirCommand is what a volume's reader pod runs: tar a mounted
// directory (the filesystem engine's format) and PUT it to the runner's push
// session. The session URL holds its token, so it comes from a file (a
// mounted Secret), never from arguments or environment.
func newPushDirCommand(g *globals) *cobra.Command {
	var dir, urlFile string
	var excludes []string
	cmd := &cobra.Command{
		Use:    "push-dir",
		Short:  "Stream a directory as a tar to a runner's push session (run by volume reader pods)",
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
			t := engine.Target{Spec: v1alpha1.Target{Name: "volume", Filesystem: &v1alpha1.FilesystemTarget{Path: dir, Excludes: excludes}}}
			n, err := pushDir(cmd.Context(), &filesystem.Engine{Log: log}, t, base+"volume.tar")
			if err != nil {
				return err
			}
			log.Info("volume pushed", "dir", dir, "bytes", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to stream (the mounted volume)")
	cmd.Flags().StringVar(&urlFile, "url-file", "", "file holding the push session URL")
	cmd.Flags().StringSliceVar(&excludes, "exclude", nil, "glob pattern relative to --dir to leave out; repeatable")
	return cmd
}

// sessionURL reads a push session's URL from the file the pod's Secret
// mounts: it holds the session token, so it never travels in arguments.
func sessionURL(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the session URL: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// pushDir streams the tar of t into a chunked PUT. A failing tar aborts the
// request body, so the runner sees a torn stream, never a short valid one.
func pushDir(ctx context.Context, fs *filesystem.Engine, t engine.Target, url string) (int64, error) {
	pr, pw := io.Pipe()
	counted := &countingReader{r: pr}
	go func() {
		_, err := fs.Backup(ctx, t, pw)
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, counted)
	if err != nil {
		pr.CloseWithError(err)
		return 0, errors.New("invalid session URL")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return counted.n, fmt.Errorf("pushing the volume to the runner: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return counted.n, fmt.Errorf("the runner refused the volume: %s", resp.Status)
	}
	return counted.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
