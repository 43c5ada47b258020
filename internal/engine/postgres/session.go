package postgres

import (
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// inheritedEnv are libpq variables the runner's environment must not pass on:
// PGPASSWORD and a service file would win over the password file, the rest
// would silently change where the tool connects.
var inheritedEnv = []string{
	"PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGHOST", "PGHOSTADDR",
	"PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE", "PGREQUIRESSL", "PGCONNECT_TIMEOUT",
}

// session holds what a libpq tool needs to authenticate: a private directory
// with the password file, and the environment that points at it.
type session struct {
	dir *tool.SecretDir
	env []string
}

// newSession writes the password file. Without a password PGPASSFILE points
// at a file that does not exist, so ~/.pgpass is not consulted either: the
// target's configuration is the only source of credentials.
func (c conn) newSession() (*session, error) {
	dir, err := tool.NewSecretDir()
	if err != nil {
		return nil, err
	}
	path := dir.Path("pgpass")
	if c.password != "" {
		content, err := pgpass(c.password)
		if err == nil {
			path, err = dir.WriteFile("pgpass", content)
		}
		if err != nil {
			_ = dir.Remove()
			return nil, err
		}
	}
	return &session{dir: dir, env: []string{"PGPASSFILE=" + path}}, nil
}

func (s *session) close() { _ = s.dir.Remove() }

// cmd prepares a run of the tool at path for this session.
func (s *session) cmd(c conn, path string, args []string) tool.Cmd {
	return tool.Cmd{
		Path:    path,
		Args:    args,
		Env:     s.env,
		Unset:   inheritedEnv,
		Secrets: []string{c.password},
	}
}
