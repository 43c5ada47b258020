package mysql

import (
	"context"
	"database/sql"

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

func (c conn) newSession(ctx context.Context) (*session, error) {
	plain := !c.serverOffersTLS(ctx)
	dir, err := tool.NewSecretDir()
	if err != nil {
		return nil, err
	}
	file, err := dir.WriteFile("client.cnf", c.optionFile(plain))
	if err != nil {
		_ = dir.Remove()
		return nil, err
	}
	return &session{dir: dir, file: file}, nil
}

func (s *session) close() { _ = s.dir.Remove() }

// serverOffersTLS asks the server whether it has TLS (@@have_ssl). MariaDB
// clients from 11.4 on (Debian trixie's mariadb-dump) require TLS by
// default and refuse a server without it ("SSL is required, but the server
// does not support it"), where older clients, mysqldump and this engine's
// own connection use plaintext. The tools keep their default (TLS) unless
// the server says it has none; when it cannot be asked, they keep it too.
func (c conn) serverOffersTLS(ctx context.Context) bool {
	pool, err := c.open()
	if err != nil {
		return true
	}
	defer pool.Close()
	var have sql.NullString
	if err := pool.QueryRowContext(ctx, "SELECT @@have_ssl").Scan(&have); err != nil {
		return true
	}
	return have.String == "YES"
}

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
