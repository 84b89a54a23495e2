package config

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Blob store kinds (--blob-store).
const (
	BlobMemory = "memory"
	BlobRedis  = "redis"
	BlobS3     = "s3"
)

// Blobs says where images (originals, assets, renders) live. Sessions,
// workspaces and jobs stay in the session store whatever this says.
type Blobs struct {
	Store string // memory, redis or s3; defaults to the session store
	S3    S3
}

// S3 configures the S3-compatible bucket of --blob-store s3.
type S3 struct {
	Endpoint  string // http(s)://host[:port]
	Bucket    string
	Region    string
	Prefix    string // object name prefix, e.g. "blobs/"
	PathStyle bool   // bucket in the path rather than in the host name
	// AccessKeyID and SecretAccessKey come from the --s3-*-file settings,
	// else from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with
	// AWS_SESSION_TOKEN); without any, the shared credentials file and the
	// IAM role are tried (see loadAWSEnv).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// SharedCredentialsFile and Profile: AWS_SHARED_CREDENTIALS_FILE
	// (default ~/.aws/credentials) and AWS_PROFILE (default "default").
	SharedCredentialsFile string
	Profile               string
	// IAMRole: a web identity token (EKS IRSA) or container credentials
	// are configured, so the IAM provider is tried too.
	IAMRole    bool
	CAFile     string // PEM bundle trusted besides the system's roots
	Presign    bool
	PresignTTL time.Duration
	SweepEvery time.Duration
}

// blobFlags holds the raw blob settings.
type blobFlags struct {
	store, endpoint, bucket, region, prefix string
	keyIDFile, secretFile, caFile           string
	pathStyle, presign                      bool
	presignTTL, sweepEvery                  time.Duration
}

func defineBlobFlags(fs *flag.FlagSet) *blobFlags {
	b := &blobFlags{}
	fs.StringVar(&b.store, "blob-store", "", "where images live: `store` memory, redis or s3 (default: the session store; s3 needs --session-store redis, which keeps each blob's lifetime)")
	fs.StringVar(&b.endpoint, "s3-endpoint", "", "s3: endpoint `URL`, e.g. https://s3.eu-west-1.amazonaws.com or http://seaweedfs.storage.svc:8333")
	fs.StringVar(&b.bucket, "s3-bucket", "", "s3: `bucket` (must exist; easel never creates it)")
	fs.StringVar(&b.region, "s3-region", "us-east-1", "s3: `region` requests are signed for")
	fs.StringVar(&b.prefix, "s3-prefix", "blobs/", "s3: object name `prefix`; the sweeper deletes unreferenced objects under it, so give easel a prefix of its own")
	fs.BoolVar(&b.pathStyle, "s3-path-style", false, "s3: put the bucket in the URL path (MinIO, SeaweedFS, Ceph) rather than in the host name (AWS)")
	fs.StringVar(&b.keyIDFile, "s3-access-key-id-file", "", "s3: `file` holding the access key ID (else the standard AWS variables, files, web identity or instance role)")
	fs.StringVar(&b.secretFile, "s3-secret-access-key-file", "", "s3: `file` holding the secret access key (goes with --s3-access-key-id-file)")
	fs.StringVar(&b.caFile, "s3-ca-file", "", "s3: PEM `file` of CA certificates to trust for the endpoint's TLS, besides the system's")
	fs.BoolVar(&b.presign, "s3-presign", false, "s3: answer /blobs/{digest} with a redirect to a short-lived presigned URL, so downloads bypass easel")
	fs.DurationVar(&b.presignTTL, "s3-presign-ttl", 30*time.Minute, "s3: how long a presigned URL stays valid; each replica hands out the same URL of a blob for half of it, so browsers keep the image cached that long")
	fs.DurationVar(&b.sweepEvery, "s3-sweep-interval", 5*time.Minute, "s3: how often unreferenced blobs are deleted (one replica sweeps per interval); a blob goes at most about this long after its lifetime ends")
	return b
}

// build validates the blob settings against the session store.
func (b *blobFlags) build(sessionStore string) (Blobs, error) {
	out := Blobs{Store: b.store, S3: S3{
		Endpoint: strings.TrimRight(b.endpoint, "/"), Bucket: b.bucket, Region: b.region, Prefix: b.prefix,
		PathStyle: b.pathStyle, CAFile: b.caFile, Presign: b.presign, PresignTTL: b.presignTTL, SweepEvery: b.sweepEvery,
	}}
	if out.Store == "" {
		out.Store = sessionStore // memory → memory, redis → redis: nothing changes for existing users
	}
	switch {
	case !oneOf(out.Store, BlobMemory, BlobRedis, BlobS3):
		return out, &Error{Setting: "blob-store", Msg: fmt.Sprintf("must be memory, redis or s3 (got %q)", out.Store)}
	case out.Store != BlobMemory && sessionStore != StoreRedis:
		return out, &Error{Setting: "blob-store", Msg: fmt.Sprintf("%s needs --session-store redis (blob lifetimes are kept there)", out.Store)}
	case out.Store == BlobMemory && sessionStore == StoreRedis:
		return out, &Error{Setting: "blob-store", Msg: "memory cannot be shared by replicas; use redis or s3 with --session-store redis"}
	case out.Store != BlobS3:
		return out, nil
	}
	u, err := url.Parse(out.S3.Endpoint)
	if out.S3.Endpoint == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return out, &Error{Setting: "s3-endpoint", Msg: fmt.Sprintf("must be an http(s) URL with a host and no path, such as https://s3.eu-west-1.amazonaws.com (got %q)", b.endpoint)}
	}
	checks := []struct {
		setting string
		ok      bool
		msg     string
	}{
		{"s3-bucket", validBucket(b.bucket), "must be an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens"},
		{"s3-region", b.region != "", "must not be empty"},
		{"s3-prefix", !strings.HasPrefix(b.prefix, "/") && !strings.Contains(b.prefix, "//"), "must not start with / or contain //"},
		{"s3-presign-ttl", b.presignTTL >= time.Second && b.presignTTL <= 7*24*time.Hour, "must be from 1s to 168h (S3's limit)"},
		{"s3-sweep-interval", b.sweepEvery >= time.Second, "must be at least 1s"},
		{"s3-secret-access-key-file", (b.keyIDFile == "") == (b.secretFile == ""), "--s3-access-key-id-file and --s3-secret-access-key-file go together"},
	}
	for _, ck := range checks {
		if !ck.ok {
			return out, &Error{Setting: ck.setting, Msg: ck.msg}
		}
	}
	for _, f := range []struct {
		setting, path string
		into          *string
	}{{"s3-access-key-id-file", b.keyIDFile, &out.S3.AccessKeyID}, {"s3-secret-access-key-file", b.secretFile, &out.S3.SecretAccessKey}} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			return out, &Error{Setting: f.setting, Msg: fmt.Sprintf("cannot read it: %v", err)}
		}
		if *f.into = strings.TrimSpace(string(data)); *f.into == "" {
			return out, &Error{Setting: f.setting, Msg: fmt.Sprintf("%s is empty", f.path)}
		}
	}
	if b.caFile != "" {
		if _, err := os.Stat(b.caFile); err != nil {
			return out, &Error{Setting: "s3-ca-file", Msg: fmt.Sprintf("cannot read it: %v", err)}
		}
	}
	return out, nil
}

// validBucket checks the S3 bucket naming rules that matter here.
func validBucket(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '.' || s[0] == '-' || s[len(s)-1] == '.' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if ok := r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z'; !ok {
			return false
		}
	}
	return true
}

// loadAWSEnv reads the standard AWS variables, as every AWS tool does,
// when no key files were given.
func (s *S3) loadAWSEnv(getenv func(string) string) {
	if s.AccessKeyID != "" {
		return
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		s.AccessKeyID, s.SecretAccessKey, s.SessionToken = id, secret, getenv("AWS_SESSION_TOKEN")
		return
	}
	s.SharedCredentialsFile = getenv("AWS_SHARED_CREDENTIALS_FILE")
	if s.SharedCredentialsFile == "" && getenv("HOME") != "" {
		s.SharedCredentialsFile = filepath.Join(getenv("HOME"), ".aws", "credentials")
	}
	if s.Profile = getenv("AWS_PROFILE"); s.Profile == "" {
		s.Profile = "default"
	}
	s.IAMRole = getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" || getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" ||
		getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != ""
}
