package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

// This file is the pod side of a volume session: what `coffer-runner
// push-dir` (reader pods) and `pull-dir` (writer pods) do.

// SessionURL reads a push session's URL from the file the pod's Secret
// mounts: it holds the session token, so it never travels in arguments.
func SessionURL(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the session URL: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// Push streams the tar of dir (without what excludes match) into the
// session at base, as one chunked PUT, and returns the bytes sent. A
// failing tar aborts the request body, so the runner sees a torn stream,
// never a short valid one.
func Push(ctx context.Context, fs *filesystem.Engine, dir string, excludes []string, base string) (int64, error) {
	t := engine.Target{Spec: v1alpha1.Target{Name: "volume", Filesystem: &v1alpha1.FilesystemTarget{Path: dir, Excludes: excludes}}}
	url := base + FileTar
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

// Pull fetches the session's tar from base and extracts it into dir, then
// reports the outcome back to the runner, so the runner's restore ends only
// when the data is on the volume.
func Pull(ctx context.Context, fs *filesystem.Engine, dir string, clean bool, base string) error {
	err := pull(ctx, fs, dir, clean, base+FileTar)
	outcome := ResultOK
	if err != nil {
		outcome = err.Error()
	}
	if rerr := report(ctx, base+FileResult, outcome); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

func pull(ctx context.Context, fs *filesystem.Engine, dir string, clean bool, url string) error {
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

// Decline tells the session at base that no pod will serve it, and why
// (the controller's pod was refused): the runner's backup or restore ends
// at once with reason instead of waiting for a pod. reason holds no secret.
func Decline(ctx context.Context, base, reason string) error {
	if strings.TrimSpace(reason) == ResultOK {
		reason = "declined: " + reason
	}
	return report(ctx, base+FileResult, reason)
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
