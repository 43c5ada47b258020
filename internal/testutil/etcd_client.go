package testutil

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Client is a client for the server, as root once EnableAuth ran, closed
// when t ends.
func (e *Etcd) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := e.newClient()
	if err != nil {
		t.Fatalf("etcd client for %s: %v", e.Endpoint, err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func (e *Etcd) newClient() (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if e.RootPassword != "" {
		cfg.Username, cfg.Password = "root", e.RootPassword
	}
	if e.TLS != nil {
		tlsCfg, err := e.TLS.ClientConfig()
		if err != nil {
			return nil, err
		}
		cfg.TLS = tlsCfg
	}
	return clientv3.New(cfg)
}

// EnableAuth creates user root with a HostilePassword and turns
// authentication on.
func (e *Etcd) EnableAuth(t testing.TB) {
	t.Helper()
	password := HostilePassword()
	cli := e.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.UserAdd(ctx, "root", password); err != nil {
		t.Fatalf("etcd user add: %v", err)
	}
	if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatalf("etcd grant role: %v", err)
	}
	if _, err := cli.AuthEnable(ctx); err != nil {
		t.Fatalf("etcd auth enable: %v", err)
	}
	e.RootPassword = password
}
