package tool

import (
	"fmt"
	"os"
	"path/filepath"
)

// SecretDir is a private (0700) temporary directory for the files that carry
// secrets to a tool. Remove it as soon as the tool has exited.
type SecretDir struct {
	path string
}

// NewSecretDir creates the directory under os.TempDir.
func NewSecretDir() (*SecretDir, error) {
	path, err := os.MkdirTemp("", "coffer-secret-")
	if err != nil {
		return nil, fmt.Errorf("creating private directory for credentials: %w", err)
	}
	// MkdirTemp already uses 0700; be explicit, the mode is the point.
	if err := os.Chmod(path, 0o700); err != nil {
		_ = os.RemoveAll(path)
		return nil, fmt.Errorf("restricting private directory for credentials: %w", err)
	}
	return &SecretDir{path: path}, nil
}

// Path is the path a file called name has (or would have) in the directory.
func (d *SecretDir) Path(name string) string { return filepath.Join(d.path, name) }

// WriteFile creates name with mode 0600 and writes data to it. It refuses to
// overwrite, so a file can never be swapped in between creation and use.
func (d *SecretDir) WriteFile(name string, data []byte) (string, error) {
	path := d.Path(name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("creating credentials file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("writing credentials file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing credentials file: %w", err)
	}
	return path, nil
}

// Remove deletes the directory and everything in it.
func (d *SecretDir) Remove() error {
	if err := os.RemoveAll(d.path); err != nil {
		return fmt.Errorf("removing private directory for credentials: %w", err)
	}
	return nil
}
