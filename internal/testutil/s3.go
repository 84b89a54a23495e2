package testutil

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3ServerEnv names the S3 test server binary; without it the tests look in
// the repository's bin/ (where hack/install-tools.sh builds it), then PATH.
const S3ServerEnv = "EASEL_GOFAKES3"

// S3Server is an S3-compatible server process on loopback (hack/tools/gofakes3:
// gofakes3 on a bbolt file, behind Signature V4 checks) with one identity.
type S3Server struct {
	Endpoint        string // http://127.0.0.1:PORT
	AccessKeyID     string
	SecretAccessKey string
	// Stop ends the server; it is idempotent and registered with t.Cleanup.
	Stop func()
	// Start starts it again on the same port and data (after Stop).
	Start func()
	// CAFile is the PEM of the CA that signed the server's certificate
	// (StartS3TLS only).
	CAFile string
	// Throttle makes the server answer every request 503 SlowDown (on) or
	// serve again (off), as a throttling S3 does (gofakes3 only).
	Throttle func(on bool)
	http     *http.Client // trusts CAFile
}

// S3ServerPath finds the server: $EASEL_GOFAKES3, then bin/gofakes3, then
// PATH; it skips the test (or fails it under EASEL_REQUIRE_DEPS=1) without.
func S3ServerPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(S3ServerEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			missing(t, fmt.Sprintf("%s=%s: %v", S3ServerEnv, p, err))
		}
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	if p := filepath.Join(filepath.Dir(file), "..", "..", "bin", "gofakes3"); isExecutable(p) {
		return filepath.Clean(p)
	}
	if p, err := exec.LookPath("gofakes3"); err == nil {
		return p
	}
	missing(t, "the S3 test server gofakes3 is not in $"+S3ServerEnv+", bin/gofakes3 or PATH (build it: bash hack/install-tools.sh gofakes3)")
	return ""
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(RequireDepsEnv) == "1" {
		t.Fatalf("required dependency missing: %s", msg)
	}
	t.Skipf("skipping: %s; set %s=1 to make this a failure", msg, RequireDepsEnv)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// StartS3 starts the S3 server on a free loopback port with its data in
// t.TempDir, and waits until it answers.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	if weed := os.Getenv(WeedEnv); weed != "" {
		return startWeed(t, weed)
	}
	return startGofakes3(t, false)
}

// StartS3TLS starts the S3 server serving HTTPS with a certificate for
// 127.0.0.1 signed by a CA of its own, whose PEM file is CAFile.
func StartS3TLS(t testing.TB) *S3Server {
	t.Helper()
	return startGofakes3(t, true)
}

func startGofakes3(t testing.TB, useTLS bool) *S3Server {
	t.Helper()
	bin := S3ServerPath(t)
	dir := t.TempDir()
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &S3Server{
		Endpoint:    "http://127.0.0.1:" + strconv.Itoa(port),
		AccessKeyID: "easeltest", SecretAccessKey: "easeltest-secret-key-0123456789",
		http: http.DefaultClient,
	}
	throttle := filepath.Join(dir, "throttle")
	args := []string{"-addr", "127.0.0.1:" + strconv.Itoa(port), "-db", filepath.Join(dir, "s3.db"),
		"-access-key", s.AccessKeyID, "-secret-key", s.SecretAccessKey, "-throttle-file", throttle}
	s.Throttle = func(on bool) {
		t.Helper()
		var err error
		if on {
			err = os.WriteFile(throttle, nil, 0o600)
		} else {
			err = os.Remove(throttle)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if useTLS {
		cert, key, pool := writeTLS(t, dir)
		s.Endpoint, s.CAFile = "https://127.0.0.1:"+strconv.Itoa(port), filepath.Join(dir, "ca.pem")
		s.http = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		args = append(args, "-tls-cert", cert, "-tls-key", key)
	}
	s.runAs(t, bin, args, dir, filepath.Join(dir, "s3.log"), 20*time.Second)
	s.Start()
	t.Cleanup(func() { s.Stop() })
	return s
}

// runAs sets s.Start and s.Stop to start `bin args` in dir (output
// appended to logPath) and wait up to timeout until the S3 API answers, and
// to stop it with SIGTERM.
func (s *S3Server) runAs(t testing.TB, bin string, args []string, dir, logPath string, timeout time.Duration) {
	var proc *cluster.Process
	s.Start = func() {
		t.Helper()
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = logf.Close() }()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
		if proc, err = cluster.StartProcess(cmd); err != nil {
			t.Fatal(err)
		}
		if err := waitS3(s.http, s.Endpoint, proc, timeout); err != nil {
			proc.Kill()
			t.Fatalf("%s did not come up: %v\n%s", bin, err, cluster.TailFile(logPath, 4000))
		}
	}
	s.Stop = func() {
		if proc != nil {
			_ = proc.Stop(syscall.SIGTERM, 10*time.Second)
		}
	}
}

// writeTLS writes a CA (ca.pem) and a certificate for 127.0.0.1 it signed
// (cert.pem, key.pem) into dir, and returns the certificate's and key's
// paths and a pool trusting the CA.
func writeTLS(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "easel test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, block := range map[string]*pem.Block{
		filepath.Join(dir, "ca.pem"): {Type: "CERTIFICATE", Bytes: caDER},
		certFile:                     {Type: "CERTIFICATE", Bytes: der},
		keyFile:                      {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return certFile, keyFile, pool
}

// waitS3 waits until the S3 port answers (any HTTP status: an unsigned
// request is refused, which proves it is serving).
func waitS3(hc *http.Client, endpoint string, proc *cluster.Process, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		if proc.Exited() {
			return fmt.Errorf("the server exited")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/", nil)
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Client returns a path-style client of the server with its credentials.
func (s *S3Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	host, secure := strings.CutPrefix(s.Endpoint, "https://")
	opts := &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKeyID, s.SecretAccessKey, ""), Region: "us-east-1",
		BucketLookup: minio.BucketLookupPath, Secure: secure,
	}
	if secure {
		opts.Transport = s.http.Transport
	}
	c, err := minio.New(strings.TrimPrefix(host, "http://"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bucket creates a bucket named name, retrying while the server is still
// starting (SeaweedFS joins its volume server to its master after its S3
// port answers).
func (s *S3Server) Bucket(t testing.TB, name string) {
	t.Helper()
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: "us-east-1"})
		if err == nil || minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("creating bucket %s: %v", name, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
