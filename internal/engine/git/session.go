package git

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// defaultTokenUser is the user name sent with a token when the URL names
// none: GitHub, GitLab and Gitea accept it with a personal access token.
const defaultTokenUser = "oauth2"

// inheritedEnv are variables of the runner's environment that would change
// what git does, where it connects, or what it logs (a trace can hold
// credentials).
var inheritedEnv = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
	"GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_COMMON_DIR",
	"GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG_SYSTEM",
	"GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_PROXY_COMMAND",
	"GIT_ASKPASS", "SSH_ASKPASS", "SSH_AUTH_SOCK", "GIT_ALLOW_PROTOCOL", "GIT_PROTOCOL_FROM_USER",
	"GIT_TRACE", "GIT_TRACE_PACKET", "GIT_TRACE_PACKFILE", "GIT_TRACE_CURL", "GIT_TRACE_CURL_NO_DATA",
	"GIT_TRACE_SETUP", "GIT_TRACE_PERFORMANCE", "GIT_TRACE2", "GIT_TRACE2_EVENT", "GIT_TRACE2_PERF",
	"GIT_TRACE_REDACT", "GIT_CURL_VERBOSE", "GIT_SSL_NO_VERIFY", "GIT_REDACT_COOKIES",
}

// hermeticEnv keeps configuration files out (system, global and the
// user's): the target's settings are the only ones.
var hermeticEnv = []string{
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
}

// protocols git may use; ext:: (which runs commands) and the rest are off.
var protocols = []string{
	"-c", "protocol.allow=never", "-c", "protocol.file.allow=always", "-c", "protocol.git.allow=always",
	"-c", "protocol.ssh.allow=always", "-c", "protocol.http.allow=always", "-c", "protocol.https.allow=always",
}

var errSecretLine = errors.New("the token holds a line break or NUL, which git's credential protocol cannot carry")

// session is what the git processes of one operation share: a private
// directory with the credential files, and the arguments and environment
// that point git at them.
type session struct {
	dir     *tool.SecretDir
	config  []string // -c options, before the subcommand
	env     []string
	secrets []string
}

// newSession prepares credentials for reaching loc.
func (r repo) newSession(loc string) (*session, error) {
	dir, err := tool.NewSecretDir()
	if err != nil {
		return nil, err
	}
	s := &session{dir: dir, env: hermeticEnv, secrets: r.secrets()}
	// An empty helper first: it clears the list, so no helper configured
	// anywhere else can be asked, or told to store the token.
	s.config = append(append([]string{}, protocols...), "-c", "credential.helper=")
	if err := s.credentials(r, loc); err != nil {
		_ = dir.Remove()
		return nil, err
	}
	return s, nil
}

func (s *session) credentials(r repo, loc string) error {
	switch transportOf(loc) {
	case httpTransport:
		if r.token == "" {
			return nil
		}
		if strings.ContainsAny(r.token, "\r\n\x00") {
			return errSecretLine
		}
		tokenFile, err := s.dir.WriteFile("token", []byte(r.token))
		if err != nil {
			return err
		}
		helper, err := s.dir.WriteFile("credential-helper", []byte(helperScript(tokenFile)))
		if err != nil {
			return err
		}
		if err := os.Chmod(helper, 0o700); err != nil {
			return fmt.Errorf("making the credential helper executable: %w", err)
		}
		s.config = append(s.config, "-c", "credential.helper=!"+shellQuote(helper))
	case sshTransport:
		if _, err := tool.Find(sshPackage, "ssh"); err != nil {
			return err
		}
		cmd := []string{"ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
			"-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=30"}
		if r.sshKey != "" {
			key := r.sshKey
			if !strings.HasSuffix(key, "\n") {
				key += "\n" // OpenSSH refuses a key without its final line break
			}
			path, err := s.dir.WriteFile("ssh-key", []byte(key))
			if err != nil {
				return err
			}
			cmd = append(cmd, "-o", "IdentitiesOnly=yes", "-i", shellQuote(path))
		}
		if r.knownHosts != "" {
			path, err := s.dir.WriteFile("known_hosts", []byte(r.knownHosts))
			if err != nil {
				return err
			}
			cmd = append(cmd, "-o", "UserKnownHostsFile="+shellQuote(path))
		}
		s.env = append(append([]string{}, s.env...), "GIT_SSH_VARIANT=ssh", "GIT_SSH_COMMAND="+strings.Join(cmd, " "))
	}
	return nil
}

// helperScript answers git's "get" with the token read from tokenFile, and
// a user name when the URL has none. It ignores "store" and "erase".
func helperScript(tokenFile string) string {
	return `#!/bin/sh
# Coffer's credential helper: the token stays in a 0600 file.
test "$1" = get || exit 0
user=
while IFS= read -r line && test -n "$line"; do
  case $line in username=*) user=1 ;; esac
done
test -n "$user" || echo 'username=` + defaultTokenUser + `'
printf 'password='
cat ` + shellQuote(tokenFile) + `
echo
`
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (s *session) close() { _ = s.dir.Remove() }

// cmd prepares a git run in this session.
func (s *session) cmd(git string, args ...string) tool.Cmd {
	return tool.Cmd{
		Path:    git,
		Args:    append(append([]string{}, s.config...), args...),
		Env:     s.env,
		Unset:   inheritedEnv,
		Secrets: s.secrets,
	}
}
