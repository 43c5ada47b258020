// Package git backs up a git repository as a bundle of all its refs, and
// restores a bundle into a bare repository or pushes it to a remote.
//
// Backup clones the repository with `git clone --mirror` into a private
// (0700) temporary directory, then streams `git bundle create - --all` from
// it: the bundle holds every ref the server advertises (branches, tags,
// notes, and whatever else is under refs/) with all their history. The
// clone is the one thing written to disk; it is removed as soon as the
// bundle is out. A bundle is a standard format: `git clone --mirror
// backup.bundle repo.git` restores it without Coffer.
//
// Credentials never appear in the URL, in arguments or in the environment:
// an https token is answered by a credential helper script that reads it
// from a 0600 file, and an ssh key and its pinned known_hosts are 0600 files
// named in GIT_SSH_COMMAND (StrictHostKeyChecking=yes). Git runs with no
// system or global configuration, so no configured credential store can
// keep the token, and no insteadOf can redirect the URL.
//
// Restore reads the bundle as a stream: its header is parsed here, and the
// pack that follows is piped into `git index-pack`. Into a path that is
// missing or empty, it builds a bare repository there. Into an existing
// repository (with Clean), or with no IntoPath into the target's own URL,
// it builds the repository in a private temporary directory and pushes it
// with `git push --mirror`, which makes the destination's refs exactly the
// bundle's. A destination that already has refs is refused without Clean.
package git

import (
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

const (
	// gitPackage is the Debian package that ships git.
	gitPackage = "git"
	// sshPackage is the Debian package that ships the ssh client.
	sshPackage = "openssh-client"
)

// Engine is the git engine. The zero value is ready to use.
type Engine struct{}

// New returns the git engine.
func New() *Engine { return &Engine{} }

var _ engine.Engine = (*Engine)(nil)

// Name is "git", the key of the target block.
func (*Engine) Name() string { return "git" }

// Extension is "bundle": the dump is a git bundle.
func (*Engine) Extension() string { return "bundle" }

// Destinations: a restore may go into another repository path or URL.
func (*Engine) Destinations() []engine.Destination {
	return []engine.Destination{engine.DestinationPath}
}

// Source is the repository URL, with any password in it hidden; a local
// repository is a path on the runner's own filesystem.
func (*Engine) Source(t engine.Target) manifest.Source {
	if transportOf(t.Spec.Git.URL) == local {
		return manifest.Source{Kind: manifest.SourcePath, Identity: localPath(t.Spec.Git.URL)}
	}
	return manifest.Source{Kind: manifest.SourceRepository, Identity: displayURL(t.Spec.Git.URL)}
}
