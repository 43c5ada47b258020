// Command coffer-image writes an OCI image as a `docker save`-style tarball
// without Docker or a registry (go-containerregistry): layers from root
// filesystem tarballs and single files, the config (user, entrypoint, ...)
// from flags or from a Dockerfile's final stage (internal/imagespec), so the
// images hack/images.sh builds match build/*.Dockerfile. Import the result
// with `ctr -n k8s.io images import`.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/coffer-dev/coffer/internal/imagespec"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coffer-image:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		tag, out, dockerfile, user, workdir, entrypoint, show string
		layers, files, dirs, env                              list
	)
	flag.StringVar(&tag, "tag", "", "image reference, e.g. ghcr.io/coffer-dev/coffer-runner:dev")
	flag.StringVar(&out, "o", "", "output tarball")
	flag.StringVar(&dockerfile, "dockerfile", "", "take user, workdir, entrypoint, cmd, env and exposed ports from this Dockerfile's final stage")
	flag.StringVar(&user, "user", "", "user (overrides the Dockerfile)")
	flag.StringVar(&workdir, "workdir", "", "working directory")
	flag.StringVar(&entrypoint, "entrypoint", "", "entrypoint, comma-separated")
	flag.Var(&layers, "layer", "a root filesystem tarball to add as a layer (repeatable, in order)")
	flag.Var(&files, "file", "src:dst:mode[:uid:gid], a file in the top layer (repeatable)")
	flag.Var(&dirs, "dir", "dst:mode[:uid:gid], a directory in the top layer (repeatable)")
	flag.Var(&env, "env", "KEY=value (repeatable)")
	flag.StringVar(&show, "print", "", "print one fact of -dockerfile and exit: packages (one a line), user or workdir")
	flag.Parse()
	if show != "" {
		spec, err := imagespec.ParseFile(dockerfile)
		if err != nil {
			return err
		}
		switch show {
		case "packages":
			fmt.Println(strings.Join(spec.Packages, "\n"))
		case "user":
			fmt.Println(spec.User)
		case "workdir":
			fmt.Println(spec.Workdir)
		default:
			return fmt.Errorf("-print %q: want packages, user or workdir", show)
		}
		return nil
	}
	if tag == "" || out == "" {
		return fmt.Errorf("-tag and -o are required")
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}

	var spec imagespec.Spec
	if dockerfile != "" {
		if spec, err = imagespec.ParseFile(dockerfile); err != nil {
			return err
		}
	}
	if user != "" {
		spec.User = user
	}
	if workdir != "" {
		spec.Workdir = workdir
	}
	if entrypoint != "" {
		spec.Entrypoint = strings.Split(entrypoint, ",")
	}

	img := empty.Image
	for _, l := range layers {
		layer, err := tarball.LayerFromFile(l)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l, err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return err
		}
	}
	if len(files) > 0 || len(dirs) > 0 {
		top, err := topLayer(files, dirs)
		if err != nil {
			return err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(top)), nil
		})
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return err
		}
	}

	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg := cf.Config
	cfg.User = spec.User
	cfg.WorkingDir = spec.Workdir
	cfg.Entrypoint = spec.Entrypoint
	cfg.Cmd = spec.Cmd
	cfg.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, spec.Env...)
	cfg.Env = append(cfg.Env, env...)
	if len(spec.Expose) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, p := range spec.Expose {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	if img, err = mutate.Config(img, cfg); err != nil {
		return err
	}
	cf, err = img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	if a := os.Getenv("GOARCH"); a != "" {
		cf.Architecture = a
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// topLayer is a tarball of single files and directories with their modes
// and owners, with parent directories created as root 0755.
func topLayer(files, dirs []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[string]bool{}
	mtime := time.Unix(0, 0)
	parents := func(p string) error {
		parts := strings.Split(strings.Trim(p, "/"), "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if seen[d] {
				continue
			}
			seen[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
				return err
			}
		}
		return nil
	}
	owner := func(fields []string) (int, int, error) {
		if len(fields) < 2 {
			return 0, 0, nil
		}
		uid, err := strconv.Atoi(fields[0])
		if err != nil {
			return 0, 0, err
		}
		gid, err := strconv.Atoi(fields[1])
		return uid, gid, err
	}
	for _, d := range dirs {
		f := strings.Split(d, ":")
		if len(f) < 2 {
			return nil, fmt.Errorf("-dir %q: want dst:mode[:uid:gid]", d)
		}
		mode, err := strconv.ParseInt(f[1], 8, 32)
		if err != nil {
			return nil, err
		}
		uid, gid, err := owner(f[2:])
		if err != nil {
			return nil, err
		}
		if err := parents(f[0]); err != nil {
			return nil, err
		}
		n := strings.Trim(f[0], "/") + "/"
		seen[n] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: mode, Uid: uid, Gid: gid, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	for _, spec := range files {
		f := strings.Split(spec, ":")
		if len(f) < 3 {
			return nil, fmt.Errorf("-file %q: want src:dst:mode[:uid:gid]", spec)
		}
		data, err := os.ReadFile(f[0])
		if err != nil {
			return nil, err
		}
		mode, err := strconv.ParseInt(f[2], 8, 32)
		if err != nil {
			return nil, err
		}
		uid, gid, err := owner(f[3:])
		if err != nil {
			return nil, err
		}
		if err := parents(f[1]); err != nil {
			return nil, err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f[1], "/"), Mode: mode, Size: int64(len(data)), Uid: uid, Gid: gid, ModTime: mtime}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
