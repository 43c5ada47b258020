package git

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
)

// repo is a git target with its secrets resolved.
type repo struct {
	name       string
	url        string
	token      string
	sshKey     string
	knownHosts string
}

func resolve(t engine.Target) (repo, error) {
	spec := t.Spec.Git
	if spec == nil {
		return repo{}, fmt.Errorf("target %q has no git block", t.Name())
	}
	r := repo{name: t.Name(), url: spec.URL}
	var err error
	if r.token, err = t.Secrets.Value(spec.TokenSecretRef); err != nil {
		return repo{}, fmt.Errorf("target %q: token: %w", t.Name(), err)
	}
	if r.sshKey, err = t.Secrets.Value(spec.SSHKeySecretRef); err != nil {
		return repo{}, fmt.Errorf("target %q: ssh key: %w", t.Name(), err)
	}
	if r.knownHosts, err = t.Secrets.Value(spec.KnownHostsSecretRef); err != nil {
		return repo{}, fmt.Errorf("target %q: known hosts: %w", t.Name(), err)
	}
	return r, nil
}

// secrets are the values to scrub from any message.
func (r repo) secrets() []string { return []string{r.token, r.sshKey} }

// where names the target for messages.
func (r repo) where() string {
	return fmt.Sprintf("target %q (git %s)", r.name, displayURL(r.url))
}

// displayURL is a URL fit for messages: a password in it is hidden.
func displayURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return s
}

// transport is how git reaches a location.
type transport int

const (
	local transport = iota
	httpTransport
	sshTransport
	gitTransport
)

// transportOf classifies a location the way git does: a scheme, or the
// scp-like host:path form (a colon before any slash), or a local path.
func transportOf(loc string) transport {
	if scheme, _, ok := strings.Cut(loc, "://"); ok && !strings.Contains(scheme, "/") {
		switch strings.ToLower(scheme) {
		case "http", "https":
			return httpTransport
		case "ssh", "git+ssh", "ssh+git":
			return sshTransport
		case "git":
			return gitTransport
		default: // file://, and what git itself will refuse
			return local
		}
	}
	colon, slash := strings.IndexByte(loc, ':'), strings.IndexByte(loc, '/')
	if colon > 0 && (slash < 0 || colon < slash) {
		return sshTransport
	}
	return local
}

// localPath is the directory a local location names.
func localPath(loc string) string {
	if p, ok := strings.CutPrefix(loc, "file://"); ok {
		return p
	}
	return loc
}

// dirState tells whether a local destination can be built in place: it is
// missing or an empty directory.
func dirState(path string) (exists, empty bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	if !fi.IsDir() {
		return true, false, fmt.Errorf("%s is not a directory", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return true, false, err
	}
	return true, len(entries) == 0, nil
}

// emptyDir removes what dir holds, not dir.
func emptyDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
