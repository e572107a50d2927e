package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// DevCerts names the files WriteDevCerts wrote: a CA, a certificate for
// the NATS server (valid for localhost, 127.0.0.1 and ::1) and one client
// certificate per node. Keys are ECDSA P-256, PEM encoded, mode 0600.
type DevCerts struct {
	Dir                   string
	CAFile, CAKeyFile     string
	ServerCert, ServerKey string
	nodes                 map[string][2]string
}

// Node returns the certificate and key files of node name, and whether
// WriteDevCerts made them.
func (d *DevCerts) Node(name string) (certFile, keyFile string, ok bool) {
	f, ok := d.nodes[name]
	return f[0], f[1], ok
}

// NodeUser is the NATS user a node's certificate maps to: its subject,
// "CN=<name>". A node certificate from another CA must carry exactly that
// subject, and no e-mail address or DNS name that is also a user's name.
func NodeUser(name string) string { return "CN=" + name }

// devCertLife is how long dev certificates are valid.
const devCertLife = 365 * 24 * time.Hour

// WriteDevCerts creates dir if needed and writes into it a new dev CA
// (ca.pem, ca-key.pem), a server certificate (server.pem, server-key.pem)
// and, for each node, a client certificate whose subject is NodeUser(node)
// (node-<name>.pem, node-<name>-key.pem). For development and tests: the
// CA key sits beside the certificates it signed.
func WriteDevCerts(dir string, nodes []string) (*DevCerts, error) {
	for _, n := range nodes {
		if err := ValidName(n); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev certs: %w", err)
	}
	d := &DevCerts{
		Dir:        dir,
		CAFile:     filepath.Join(dir, "ca.pem"),
		CAKeyFile:  filepath.Join(dir, "ca-key.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		nodes:      make(map[string][2]string),
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev certs: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Cloister dev CA", Organization: []string{"Cloister"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(devCertLife),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := sign(caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("dev certs: %w", err)
	}
	if err := writePair(d.CAFile, d.CAKeyFile, caDER, caKey); err != nil {
		return nil, err
	}
	leaf := func(tmpl *x509.Certificate, certFile, keyFile string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("dev certs: %w", err)
		}
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(devCertLife)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := sign(tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		return writePair(certFile, keyFile, der, key)
	}
	err = leaf(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost", Organization: []string{"Cloister"}},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, d.ServerCert, d.ServerKey)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		cert, key := filepath.Join(dir, "node-"+n+".pem"), filepath.Join(dir, "node-"+n+"-key.pem")
		err := leaf(&x509.Certificate{
			Subject:     pkix.Name{CommonName: n},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, cert, key)
		if err != nil {
			return nil, err
		}
		d.nodes[n] = [2]string{cert, key}
	}
	return d, nil
}

func sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, priv *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("dev certs: %w", err)
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("dev certs: %s: %w", tmpl.Subject.CommonName, err)
	}
	return der, nil
}

func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("dev certs: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("dev certs: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("dev certs: %w", err)
	}
	return nil
}
