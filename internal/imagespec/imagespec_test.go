package imagespec

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func buildDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "build")
}

// The images hack/images.sh builds without Docker take these facts from the
// Dockerfiles; this test pins what the operator and users rely on, so a
// Dockerfile edit that would break the Docker-less build (or the pods the
// operator renders) fails here first.
func TestDockerfiles(t *testing.T) {
	tests := map[string]struct {
		file         string
		user         string
		entrypoint   []string
		packages     []string
		copies       []string
		expose       []string
		workdir      string
		fromContains string
	}{
		"controller": {
			file: "coffer-controller.Dockerfile", user: "65532:65532",
			entrypoint: []string{"/coffer-controller"}, copies: []string{"/coffer-controller"},
			fromContains: "distroless/static",
		},
		"runner": {
			file: "coffer-runner.Dockerfile", user: "65532:65532",
			entrypoint: []string{"coffer-runner"}, copies: []string{"/usr/local/bin/coffer-runner"},
			packages:     []string{"ca-certificates", "postgresql-client-17", "mariadb-client", "git", "openssh-client", "tzdata"},
			expose:       []string{"8080/tcp"},
			workdir:      "/home/coffer",
			fromContains: "debian:",
		},
		// The cluster suite's database pods (test/cluster): hack/images.sh
		// builds this one too, and the suite runs it as 65532 with the
		// entrypoint's argument.
		"test databases": {
			file: "../test/cluster/images/databases.Dockerfile", user: "65532:65532",
			entrypoint: []string{"/usr/local/bin/coffer-test-db"}, copies: []string{"/usr/local/bin/coffer-test-db"},
			packages:     []string{"postgresql-17", "mariadb-server"},
			expose:       []string{"5432/tcp", "3306/tcp"},
			workdir:      "/data",
			fromContains: "debian:trixie",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := ParseFile(filepath.Join(buildDir(t), tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if s.User != tc.user {
				t.Errorf("user %q, want %q", s.User, tc.user)
			}
			if !slices.Equal(s.Entrypoint, tc.entrypoint) {
				t.Errorf("entrypoint %q, want %q", s.Entrypoint, tc.entrypoint)
			}
			if !slices.Equal(s.Copies, tc.copies) {
				t.Errorf("copies %q, want %q", s.Copies, tc.copies)
			}
			for _, p := range tc.packages {
				if !slices.Contains(s.Packages, p) {
					t.Errorf("packages %q lack %q", s.Packages, p)
				}
			}
			if len(tc.packages) == 0 && len(s.Packages) != 0 {
				t.Errorf("packages %q, want none", s.Packages)
			}
			if !slices.Equal(s.Expose, tc.expose) {
				t.Errorf("expose %q, want %q", s.Expose, tc.expose)
			}
			if s.Workdir != tc.workdir {
				t.Errorf("workdir %q, want %q", s.Workdir, tc.workdir)
			}
			if !strings.Contains(s.From, tc.fromContains) {
				t.Errorf("from %q, want it to contain %q", s.From, tc.fromContains)
			}
		})
	}
}

func TestParse(t *testing.T) {
	const df = `ARG V=17
FROM golang AS build
USER 1
FROM debian:bookworm-slim
# comment
RUN apt-get update; \
    apt-get install -y --no-install-recommends \
        a "b-${V}" ; echo done
USER 2:2
ENTRYPOINT ["x", "y"]
CMD ["--help"]
EXPOSE 8080 53/udp
`
	s, err := Parse(strings.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "2:2" || !slices.Equal(s.Packages, []string{"a", "b-17"}) ||
		!slices.Equal(s.Entrypoint, []string{"x", "y"}) || !slices.Equal(s.Cmd, []string{"--help"}) ||
		!slices.Equal(s.Expose, []string{"8080/tcp", "53/udp"}) || s.From != "debian:bookworm-slim" {
		t.Errorf("parsed %+v", s)
	}
	if _, err := Parse(strings.NewReader("FROM x\nENTRYPOINT x y\n")); err == nil {
		t.Error("shell-form ENTRYPOINT accepted")
	}
}
