// Package config loads the runner's config file: a multi-document YAML of the
// same objects a user would kubectl apply — one BackupStorage, one
// BackupDefinition, and the v1 Secrets they reference. Loading is strict:
// unknown fields, missing references and values that make no sense are errors
// that name the file, the object and the field.
package config

import (
	"os"
	"path/filepath"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// Config is a loaded and validated runner config.
type Config struct {
	// Path is the file the config came from, for messages.
	Path       string
	Storage    v1alpha1.BackupStorage
	Definition v1alpha1.BackupDefinition
	// Secrets holds every Secret of the file by name. Values never leave the
	// process and are never printed.
	Secrets engine.Secrets
}

// Namespace is the definition's namespace ("default" when the file leaves it out).
func (c *Config) Namespace() string { return c.Definition.Namespace }

// Name is the definition's name.
func (c *Config) Name() string { return c.Definition.Name }

// Targets returns the definition's targets with their Secrets attached.
func (c *Config) Targets() []engine.Target {
	out := make([]engine.Target, 0, len(c.Definition.Spec.Targets))
	for _, t := range c.Definition.Spec.Targets {
		out = append(out, engine.Target{Spec: t, Namespace: c.Namespace(), Secrets: c.Secrets, Protected: c.ProtectedPaths()})
	}
	return out
}

// ProtectedPaths are the paths no target may read or restore into: the
// config file itself (it holds every Secret) and, when it comes from a
// Kubernetes Secret volume (a directory with a "..data" link), that whole
// directory.
func (c *Config) ProtectedPaths() []string {
	if c.Path == "" {
		return nil
	}
	abs, err := filepath.Abs(c.Path)
	if err != nil {
		return nil
	}
	paths := []string{abs}
	if dir := filepath.Dir(abs); isSecretVolume(dir) {
		paths = append(paths, dir)
	}
	return paths
}

func isSecretVolume(dir string) bool {
	fi, err := os.Lstat(filepath.Join(dir, "..data"))
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}

// Target returns the named target, or false.
func (c *Config) Target(name string) (engine.Target, bool) {
	for _, t := range c.Targets() {
		if t.Name() == name {
			return t, true
		}
	}
	return engine.Target{}, false
}
