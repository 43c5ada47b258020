package git

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// Backup mirrors the repository into a private temporary directory and
// streams a bundle of all its refs to w.
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	r, err := resolve(t)
	if err != nil {
		return engine.Result{}, err
	}
	res, err := r.backup(ctx, w)
	if err != nil {
		return engine.Result{}, tool.Redact(fmt.Errorf("backup of %s: %w", r.where(), err), r.secrets()...)
	}
	return res, nil
}

func (r repo) backup(ctx context.Context, w io.Writer) (engine.Result, error) {
	git, err := tool.Find(gitPackage, "git")
	if err != nil {
		return engine.Result{}, err
	}
	s, err := r.newSession(r.url)
	if err != nil {
		return engine.Result{}, err
	}
	defer s.close()
	var res engine.Result
	if res.ToolVersion, err = tool.Version(ctx, git); err != nil {
		return engine.Result{}, err
	}
	work, err := os.MkdirTemp("", "coffer-git-")
	if err != nil {
		return engine.Result{}, fmt.Errorf("creating the directory for the mirror: %w", err)
	}
	defer os.RemoveAll(work)
	mirror := filepath.Join(work, "mirror.git")
	if err := s.cmd(git, "clone", "--mirror", "--quiet", "--", r.url, mirror).Run(ctx); err != nil {
		return engine.Result{}, fmt.Errorf("cloning: %w", err)
	}
	bundle := s.cmd(git, "-C", mirror, "bundle", "create", "--quiet", "-", "--all")
	bundle.Stdout = w
	if err := bundle.Run(ctx); err != nil {
		return engine.Result{}, fmt.Errorf("bundling: %w", err)
	}
	return res, nil
}
