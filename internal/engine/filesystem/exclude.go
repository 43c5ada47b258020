package filesystem

import (
	"fmt"
	"path"
	"strings"
)

// excluder applies the target's exclude patterns, in path.Match syntax, the
// way .gitignore reads them: a pattern with a slash matches the path
// relative to the target's directory, a pattern without one matches the
// name at any depth, and a trailing slash restricts it to directories. An
// excluded directory is skipped with everything below it.
type excluder struct {
	patterns []pattern
}

type pattern struct {
	glob     string
	dirOnly  bool
	anyDepth bool
}

func newExcluder(globs []string) (excluder, error) {
	var ex excluder
	for _, g := range globs {
		p := pattern{glob: g}
		if strings.HasSuffix(p.glob, "/") {
			p.dirOnly = true
			p.glob = strings.TrimRight(p.glob, "/")
		}
		p.glob = strings.TrimPrefix(p.glob, "./")
		p.anyDepth = !strings.Contains(p.glob, "/")
		p.glob = strings.TrimPrefix(p.glob, "/")
		if p.glob == "" {
			return excluder{}, fmt.Errorf("exclude pattern %q matches nothing", g)
		}
		if _, err := path.Match(p.glob, ""); err != nil {
			return excluder{}, fmt.Errorf("exclude pattern %q: %w", g, err)
		}
		ex.patterns = append(ex.patterns, p)
	}
	return ex, nil
}

// excluded reports whether rel (slash-separated, relative to the root) is
// excluded.
func (ex excluder) excluded(rel string, isDir bool) bool {
	for _, p := range ex.patterns {
		if p.dirOnly && !isDir {
			continue
		}
		subject := rel
		if p.anyDepth {
			subject = path.Base(rel)
		}
		if ok, _ := path.Match(p.glob, subject); ok {
			return true
		}
	}
	return false
}
