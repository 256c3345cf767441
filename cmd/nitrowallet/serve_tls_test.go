package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeTLS: with --tls-cert and --tls-key, serve speaks HTTPS only and
// says so; a key that does not match its certificate fails the start.
func TestServeTLS(t *testing.T) {
	t.Setenv("NITROWALLET_TOKEN", strings.Repeat("t", 32))
	t.Setenv("NITROWALLET_KEY", "")
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir, "a")
	_, otherKey, _ := selfSigned(t, dir, "b")
	if err := run(context.Background(), []string{"serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir", dir,
		"--tls-cert", certFile, "--tls-key", otherKey}, io.Discard); !errors.Is(err, errServeConfig) {
		t.Fatalf("a key that does not match the certificate: %v, want errServeConfig", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir", dir, "--tls-cert", certFile, "--tls-key", keyFile}, pw)
		_ = pw.Close()
	}()
	var addr string
	sc := bufio.NewScanner(pr)
	for addr == "" && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on https://"); ok {
			addr = a
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		t.Fatalf("serve with TLS stopped before listening on https: %v", <-done)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over TLS: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("GET /healthz over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served alongside TLS")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve with TLS after its context ended: %v", err)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// (PEM) under dir and returns their paths and a pool trusting it.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nitrowallet test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
