package git

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// Restore rebuilds the repository of a bundle at opts.IntoPath (a local
// path or a URL), or at the target's own URL. See the package comment.
func (e *Engine) Restore(ctx context.Context, t engine.Target, rd io.Reader, opts engine.RestoreOptions) error {
	r, err := resolve(t)
	if err != nil {
		return err
	}
	dest := opts.IntoPath
	if dest == "" {
		dest = r.url
	}
	if err := r.restore(ctx, dest, rd, opts.Clean); err != nil {
		return tool.Redact(fmt.Errorf("restore of %s into %s: %w", r.where(), displayURL(dest), err), r.secrets()...)
	}
	return nil
}

func (r repo) restore(ctx context.Context, dest string, rd io.Reader, clean bool) error {
	git, err := tool.Find(gitPackage, "git")
	if err != nil {
		return err
	}
	s, err := r.newSession(dest)
	if err != nil {
		return err
	}
	defer s.close()
	br := bufio.NewReaderSize(rd, 64<<10)
	hdr, err := readBundleHeader(br)
	if err != nil {
		return err
	}
	if transportOf(dest) == local {
		path := localPath(dest)
		exists, empty, err := dirState(path)
		if err != nil {
			return err
		}
		if empty {
			return s.buildInPlace(ctx, git, path, exists, hdr, br)
		}
	}
	refs, err := s.refCount(ctx, git, dest, clean)
	if err != nil {
		return err
	}
	if refs > 0 && !clean {
		return fmt.Errorf("%s has %d refs: %w", displayURL(dest), refs, engine.ErrNotEmpty)
	}
	work, err := os.MkdirTemp("", "coffer-git-")
	if err != nil {
		return fmt.Errorf("creating the directory for the repository to push: %w", err)
	}
	defer os.RemoveAll(work)
	staged := filepath.Join(work, "restore.git")
	if err := s.build(ctx, git, staged, hdr, br); err != nil {
		return err
	}
	if err := s.cmd(git, "-C", staged, "push", "--mirror", "--quiet", "--", dest).Run(ctx); err != nil {
		return fmt.Errorf("pushing: %w", err)
	}
	return nil
}

// refCount counts the refs at loc. A local directory that holds something
// other than a repository is refused even with clean: Coffer replaces refs,
// not other files.
func (s *session) refCount(ctx context.Context, git, loc string, clean bool) (int, error) {
	var out bytes.Buffer
	ls := s.cmd(git, "ls-remote", "--", loc)
	ls.Stdout = &out
	if err := ls.Run(ctx); err != nil {
		switch {
		case transportOf(loc) != local:
			return 0, fmt.Errorf("listing the destination's refs: %w", err)
		case clean:
			return 0, fmt.Errorf("%s is not a git repository, and Coffer does not overwrite other files (%w)", loc, err)
		default:
			return 0, fmt.Errorf("%s is not empty and not a git repository (%w): %w", loc, err, engine.ErrNotEmpty)
		}
	}
	return bytes.Count(out.Bytes(), []byte("\n")), nil
}

// buildInPlace builds the repository in a missing or empty directory, and
// leaves it as it found it when that fails.
func (s *session) buildInPlace(ctx context.Context, git, path string, existed bool, hdr bundleHeader, pack io.Reader) error {
	err := s.build(ctx, git, path, hdr, pack)
	if err != nil {
		if existed {
			emptyDir(path)
		} else {
			_ = os.RemoveAll(path)
		}
	}
	return err
}

// build creates a bare repository at path from the bundle's pack and refs.
func (s *session) build(ctx context.Context, git, path string, hdr bundleHeader, pack io.Reader) error {
	if err := s.cmd(git, "init", "--bare", "--quiet", "--object-format="+hdr.objectFormat, "--", path).Run(ctx); err != nil {
		return fmt.Errorf("creating the repository: %w", err)
	}
	index := s.cmd(git, "-C", path, "index-pack", "--stdin", "--fix-thin")
	index.Stdin, index.Stdout = pack, io.Discard
	if err := index.Run(ctx); err != nil {
		return fmt.Errorf("reading the bundle's objects: %w", err)
	}
	var updates strings.Builder
	for _, ref := range hdr.refs {
		fmt.Fprintf(&updates, "create %s %s\n", ref.name, ref.oid)
	}
	update := s.cmd(git, "-C", path, "update-ref", "--stdin")
	update.Stdin = strings.NewReader(updates.String())
	if err := update.Run(ctx); err != nil {
		return fmt.Errorf("creating the refs: %w", err)
	}
	if head := hdr.headRef(); head != "" {
		if err := s.cmd(git, "-C", path, "symbolic-ref", "HEAD", head).Run(ctx); err != nil {
			return fmt.Errorf("setting HEAD: %w", err)
		}
	}
	return nil
}
