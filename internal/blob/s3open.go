package blob

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/config"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// OpenS3 builds a client for cfg: path-style or virtual-hosted buckets,
// static credentials from the --s3-*-file settings or else the standard AWS
// chain, and TLS trusting cfg.CAFile besides the system's roots. It does not
// dial; CheckS3 does.
func OpenS3(cfg config.S3) (*minio.Client, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, &config.Error{Setting: "s3-endpoint", Msg: err.Error()}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Fail fast while S3 is unreachable: the user gets a 503 with a retry
	// hint rather than a long wait.
	tr.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 15 * time.Second
	tr.MaxIdleConnsPerHost = 64
	if cfg.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, &config.Error{Setting: "s3-ca-file", Msg: fmt.Sprintf("cannot read it: %v", err)}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &config.Error{Setting: "s3-ca-file", Msg: fmt.Sprintf("%s holds no PEM certificate", cfg.CAFile)}
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	return minio.New(u.Host, &minio.Options{
		Creds: s3Credentials(cfg, u.Hostname()), Secure: u.Scheme == "https", Transport: tr,
		Region: cfg.Region, BucketLookup: lookup, MaxRetries: 2,
	})
}

// s3Credentials: the keys configuration found (files, or the AWS
// variables), else the shared credentials file, and, on AWS or with a web
// identity token as EKS gives pods, the IAM role.
func s3Credentials(cfg config.S3, host string) *credentials.Credentials {
	if cfg.AccessKeyID != "" {
		return credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	}
	chain := []credentials.Provider{&credentials.FileAWSCredentials{Filename: cfg.SharedCredentialsFile, Profile: cfg.Profile}}
	if cfg.IAMRole || strings.HasSuffix(host, ".amazonaws.com") {
		chain = append(chain, &credentials.IAM{})
	}
	return credentials.NewChainCredentials(chain)
}

// CheckS3 makes sure at start that the bucket can be used: credentials were
// found, the endpoint answers, the bucket exists and the credentials may read
// it. Each failure is a *config.Error naming the setting to fix.
func CheckS3(ctx context.Context, client *minio.Client, cfg config.S3) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	creds, err := client.GetCreds()
	if err != nil || creds.AccessKeyID == "" {
		return &config.Error{Setting: "s3-access-key-id-file", Msg: "no S3 credentials: give --s3-access-key-id-file and --s3-secret-access-key-file, or the standard AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials), or a web identity / instance role"}
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err == nil && !ok {
		return &config.Error{Setting: "s3-bucket", Msg: fmt.Sprintf("bucket %q does not exist at %s", cfg.Bucket, cfg.Endpoint)}
	}
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch":
		return &config.Error{Setting: "s3-access-key-id-file", Msg: fmt.Sprintf("%s refused the credentials for bucket %q: %v", cfg.Endpoint, cfg.Bucket, err)}
	case resp.Code == minio.NoSuchBucket:
		return &config.Error{Setting: "s3-bucket", Msg: fmt.Sprintf("bucket %q does not exist at %s", cfg.Bucket, cfg.Endpoint)}
	}
	var certErr x509.UnknownAuthorityError
	if errors.As(err, &certErr) {
		return &config.Error{Setting: "s3-ca-file", Msg: fmt.Sprintf("%s presents a certificate no trusted CA signed: %v", cfg.Endpoint, err)}
	}
	return &config.Error{Setting: "s3-endpoint", Msg: fmt.Sprintf("cannot use bucket %q at %s: %v", cfg.Bucket, cfg.Endpoint, err)}
}
