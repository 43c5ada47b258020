package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// EtcdPKI is a CA, a server certificate for 127.0.0.1 and a client
// certificate for user root, all PEM, made for one server.
type EtcdPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey []byte
}

// NewEtcdPKI makes a CA, a server certificate for 127.0.0.1 and localhost,
// and a client certificate for user root, valid for a day.
func NewEtcdPKI() (*EtcdPKI, error) {
	caKey, caCert, caPEM, err := newCA("coffer test etcd CA")
	if err != nil {
		return nil, err
	}
	p := &EtcdPKI{CA: caPEM}
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "etcd"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if p.ServerCert, p.ServerKey, err = issue(server, caCert, caKey); err != nil {
		return nil, err
	}
	if p.ClientCert, p.ClientKey, err = NewEtcdClientCert(caCert, caKey, "root"); err != nil {
		return nil, err
	}
	return p, nil
}

// NewEtcdClientCert issues a client certificate for user cn, signed by
// caCert; with a self-made CA it makes a certificate a server must reject.
func NewEtcdClientCert(caCert *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (certPEM, keyPEM []byte, err error) {
	if caCert == nil {
		if caKey, caCert, _, err = newCA("coffer test stranger CA"); err != nil {
			return nil, nil, err
		}
	}
	client := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return issue(client, caCert, caKey)
}

// ClientConfig is a tls.Config with the CA and root's client certificate.
func (p *EtcdPKI) ClientConfig() (*tls.Config, error) {
	pair, err := tls.X509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CA)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func newCA(cn string) (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// issue signs tmpl with the CA and returns the certificate and a new key.
func issue(tmpl, caCert *x509.Certificate, caKey *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
