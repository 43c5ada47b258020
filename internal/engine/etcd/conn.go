package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// conn is a target's connection settings with its secrets resolved.
type conn struct {
	target    string
	endpoints []string
	username  string
	password  string
	// tls is nil for plain-text endpoints.
	tls *tls.Config
	// secrets are the resolved secret values, scrubbed from errors.
	secrets []string
}

// secretRef is one secret a target may reference, and what it is for.
type secretRef struct {
	what string
	ref  *v1alpha1.SecretKeySelector
	dst  *string
}

func resolve(t engine.Target) (conn, error) {
	spec := t.Spec.Etcd
	if spec == nil {
		return conn{}, fmt.Errorf("target %q has no etcd block", t.Name())
	}
	c := conn{target: t.Name(), endpoints: spec.Endpoints, username: spec.Username}
	if len(c.endpoints) == 0 {
		return conn{}, fmt.Errorf("target %q: etcd: no endpoints", t.Name())
	}
	var ca, cert, key string
	for _, s := range []secretRef{
		{"password", spec.PasswordSecretRef, &c.password},
		{"CA certificate", spec.CASecretRef, &ca},
		{"client certificate", spec.CertSecretRef, &cert},
		{"client key", spec.KeySecretRef, &key},
	} {
		v, err := t.Secrets.Value(s.ref)
		if err != nil {
			return conn{}, fmt.Errorf("target %q: %s: %w", t.Name(), s.what, err)
		}
		*s.dst = v
	}
	c.secrets = nonEmpty(c.password, key)
	if c.password != "" && c.username == "" {
		return conn{}, fmt.Errorf("target %q: etcd: a password needs a username", t.Name())
	}
	var err error
	if c.tls, err = tlsConfig(ca, cert, key); err != nil {
		return conn{}, fmt.Errorf("target %q: etcd TLS: %w", t.Name(), err)
	}
	for _, ep := range c.endpoints {
		if c.tls != nil && strings.HasPrefix(ep, "http://") {
			return conn{}, fmt.Errorf("target %q: etcd endpoint %s is plain http, but TLS settings are given: use https://", t.Name(), ep)
		}
	}
	return c, nil
}

// tlsConfig builds the client's TLS settings in memory: nothing is written
// to disk. It is nil when no TLS material is configured; a CA alone
// verifies the server without a client certificate, and a client
// certificate alone is checked against the system's roots.
func tlsConfig(ca, cert, key string) (*tls.Config, error) {
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, errors.New("the CA secret holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	switch {
	case cert != "" && key != "":
		pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
		if err != nil {
			// The message names the failing part, never its content.
			return nil, fmt.Errorf("client certificate and key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case cert != "" || key != "":
		return nil, errors.New("a client certificate needs its key, and a key its certificate")
	}
	return cfg, nil
}

// where names the target and its endpoints for messages.
func (c conn) where() string {
	return fmt.Sprintf("target %q (etcd %s)", c.target, strings.Join(c.endpoints, ","))
}

// client connects to the one endpoint ep and authenticates, within timeout.
// The client library's own logging is off: failures come back as errors,
// and a library that logs is one more place a secret could end up.
func (c conn) client(ctx context.Context, ep string, timeout time.Duration) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   []string{ep},
		DialTimeout: timeout,
		Username:    c.username,
		Password:    c.password,
		Logger:      zap.NewNop(),
		Context:     ctx,
	}
	if c.tls != nil {
		cfg.TLS = c.tls.Clone()
	}
	cli, err := clientv3.New(cfg)
	switch {
	case err == nil:
		return cli, nil
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && cfg.Username != "":
		// Authenticating waited for a connection until the deadline: find
		// out why there was none, without credentials.
		cfg.Username, cfg.Password = "", ""
		probe, perr := clientv3.New(cfg)
		if perr != nil {
			return nil, fmt.Errorf("connecting: no answer within %v: %w", timeout, perr)
		}
		defer probe.Close()
		return nil, fmt.Errorf("connecting: no answer within %v: %w", timeout, whyUnreachable(ctx, probe))
	}
	return nil, fmt.Errorf("connecting: %w", clientv3.ContextError(ctx, err))
}

func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
