package mysql

import (
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// inheritedEnv are client variables the runner's environment must not pass
// on: MYSQL_PWD is a password, the others change where the tool connects or
// which option files it reads.
var inheritedEnv = []string{
	"MYSQL_PWD", "MYSQL_HOST", "MYSQL_TCP_PORT", "MYSQL_UNIX_PORT", "MYSQL_HOME", "MARIADB_HOME",
}

// session holds the private directory with the option file.
type session struct {
	dir  *tool.SecretDir
	file string
}

func (c conn) newSession() (*session, error) {
	dir, err := tool.NewSecretDir()
	if err != nil {
		return nil, err
	}
	file, err := dir.WriteFile("client.cnf", c.optionFile())
	if err != nil {
		_ = dir.Remove()
		return nil, err
	}
	return &session{dir: dir, file: file}, nil
}

func (s *session) close() { _ = s.dir.Remove() }

// cmd prepares a run of the tool at path. The option file must be the
// first argument: the clients only honour --defaults-extra-file there.
func (s *session) cmd(c conn, path string, args []string) tool.Cmd {
	return tool.Cmd{
		Path:    path,
		Args:    append([]string{"--defaults-extra-file=" + s.file}, args...),
		Env:     []string{"HOME=" + s.dir.Path("")},
		Unset:   inheritedEnv,
		Secrets: []string{c.password},
	}
}
