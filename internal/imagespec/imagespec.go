// Package imagespec reads what an image must be from the Dockerfiles in
// build/: the final stage's user, working directory, entrypoint, command,
// environment and exposed ports, and the Debian packages it installs. The
// Dockerfiles are the documented way to build Coffer's images with Docker;
// hack/images.sh builds the same images without Docker or a registry from
// this description, so the two cannot drift apart.
package imagespec

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Spec is the final stage of a Dockerfile, as far as an image builder
// without Docker needs it.
type Spec struct {
	From       string   // the final stage's base image
	User       string   // USER, e.g. "65532:65532"
	Workdir    string   // WORKDIR
	Entrypoint []string // ENTRYPOINT (exec form)
	Cmd        []string // CMD (exec form)
	Env        []string // ENV as KEY=value
	Expose     []string // EXPOSE, e.g. "8080/tcp"
	// Packages are the words of the final stage's `apt-get install` lines
	// (options left out, ARG defaults substituted), in order.
	Packages []string
	// Copies are the final stage's COPY destinations, e.g. /usr/local/bin/coffer-runner.
	Copies []string
}

// ParseFile parses the Dockerfile at path.
func ParseFile(path string) (Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return Spec{}, err
	}
	defer func() { _ = f.Close() }()
	s, err := Parse(f)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// Parse reads a Dockerfile and returns its final stage.
func Parse(r io.Reader) (Spec, error) {
	lines, err := logicalLines(r)
	if err != nil {
		return Spec{}, err
	}
	args := map[string]string{}
	var s Spec
	stages := 0
	for _, line := range lines {
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		subst := func(v string) string {
			return argRef.ReplaceAllStringFunc(v, func(m string) string {
				name := argRef.FindStringSubmatch(m)[1]
				if val, ok := args[name]; ok {
					return val
				}
				return m
			})
		}
		switch strings.ToUpper(instr) {
		case "ARG":
			name, val, ok := strings.Cut(rest, "=")
			if ok {
				args[name] = strings.Trim(val, `"`)
			}
		case "FROM":
			stages++
			s = Spec{}
			fields := strings.Fields(rest)
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					s.From = subst(f)
					break
				}
			}
		case "USER":
			s.User = rest
		case "WORKDIR":
			s.Workdir = rest
		case "ENTRYPOINT", "CMD":
			var v []string
			if err := json.Unmarshal([]byte(rest), &v); err != nil {
				return Spec{}, fmt.Errorf("%s must use the exec (JSON) form: %q", instr, rest)
			}
			if strings.EqualFold(instr, "ENTRYPOINT") {
				s.Entrypoint = v
			} else {
				s.Cmd = v
			}
		case "ENV":
			s.Env = append(s.Env, strings.Fields(rest)...)
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				s.Expose = append(s.Expose, p)
			}
		case "COPY":
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				s.Copies = append(s.Copies, fields[len(fields)-1])
			}
		case "RUN":
			s.Packages = append(s.Packages, aptPackages(subst(rest))...)
		}
	}
	if stages == 0 {
		return Spec{}, fmt.Errorf("no FROM")
	}
	return s, nil
}

// aptPackages returns the packages of every `apt-get install` command in a
// RUN line.
func aptPackages(run string) []string {
	var pkgs []string
	for _, cmd := range regexp.MustCompile(`;|&&`).Split(run, -1) {
		words := strings.Fields(cmd)
		for i := 0; i+1 < len(words); i++ {
			if words[i] == "apt-get" && words[i+1] == "install" {
				for _, w := range words[i+2:] {
					if strings.HasPrefix(w, "-") {
						continue
					}
					pkgs = append(pkgs, strings.Trim(w, `"'`))
				}
				break
			}
		}
	}
	return pkgs
}

// logicalLines joins continuation lines and drops comments and blanks.
func logicalLines(r io.Reader) ([]string, error) {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		out = append(out, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, strings.Join(strings.Fields(cur.String()), " "))
	}
	return out, sc.Err()
}
