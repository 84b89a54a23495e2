package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/minio/minio-go/v7"
	"github.com/redis/go-redis/v9"
)

// S3 is a Store in an S3-compatible bucket: one object per blob,
// BUCKET/OBJECTPREFIX{DIGEST}. S3 has no per-object expiry, so each blob's
// life is a lease in Redis (see leases) and a sweeper (Sweep) deletes the
// objects whose lease has ended.
//
// Writes are single PUTs with a Content-MD5 the server checks: S3 makes an
// object visible only once all of it is stored, so a half-written blob is
// never seen, and a Put returns only after the server has acknowledged the
// object. Reads check the bytes against the digest.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
	leases *leases
	now    func() time.Time
	// markerWait bounds how long a Put waits for a sweeper that is deleting
	// the same blob (it holds its marker at most sweepHold).
	markerWait time.Duration
	// afterClaim, when a test sets it, runs between a sweeper's claim and
	// its delete.
	afterClaim func(claimed []string)
}

// NewS3 returns a store writing objects named objectPrefix+digest into
// bucket, with leases in Redis under redisPrefix.
func NewS3(client *minio.Client, bucket, objectPrefix string, rc redis.UniversalClient, redisPrefix string) *S3 {
	return &S3{
		client: client, bucket: bucket, prefix: objectPrefix, leases: newLeases(rc, redisPrefix),
		now: time.Now, markerWait: sweepHold + 5*time.Second,
	}
}

func (s *S3) object(d string) string { return s.prefix + d }

// Put implements Store. The lease comes first: once it runs no sweeper may
// delete the object, so finding the object present is enough; a sweeper
// that claimed the blob before is waited for, then the bytes go up again.
func (s *S3) Put(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	d := Digest(data)
	if err := s.lease(ctx, d, ttl); err != nil {
		return "", err
	}
	present, err := s.present(ctx, d)
	if err != nil {
		return "", err
	}
	if present {
		return d, nil
	}
	_, err = s.client.PutObject(ctx, s.bucket, s.object(d), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType:      http.DetectContentType(data),
		CacheControl:     "public, max-age=31536000, immutable",
		SendContentMd5:   true,
		DisableMultipart: true, // one PUT: all or nothing
		// Over plain HTTP minio-go signs the payload in aws-chunked
		// encoding, which for an empty body goes without a Content-Length
		// and is refused (411); Content-MD5 still guards the bytes.
		DisableContentSha256: len(data) == 0,
	})
	if err != nil {
		return "", store.Unavailable("storing blob in S3", err)
	}
	return d, nil
}

// lease starts or lengthens d's lease, waiting out a sweeper deleting d.
func (s *S3) lease(ctx context.Context, d string, ttl time.Duration) error {
	deadline := time.Now().Add(s.markerWait)
	for {
		res, err := s.leases.renew(ctx, s.now(), ttl, false, d)
		if err != nil {
			return err
		}
		if res[0] != leaseDeleting {
			return nil
		}
		if time.Now().After(deadline) {
			return store.Unavailable("storing blob", errors.New("a sweeper is still deleting it"))
		}
		select {
		case <-ctx.Done():
			return store.Unavailable("storing blob", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// present reports whether d's object exists.
func (s *S3) present(ctx context.Context, d string) (bool, error) {
	_, err := s.client.StatObject(ctx, s.bucket, s.object(d), minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, store.Unavailable("looking up blob in S3", err)
}

// Get implements Store. A digest that is not one is not found without any
// request; a blob whose lease has ended is not found even before a sweeper
// deletes its object.
func (s *S3) Get(ctx context.Context, digest string) ([]byte, bool, error) {
	if !ValidDigest(digest) {
		return nil, false, nil
	}
	alive, err := s.leases.alive(ctx, s.now(), digest)
	if err != nil || !alive {
		return nil, false, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.object(digest), minio.GetObjectOptions{})
	if err != nil {
		return nil, false, store.Unavailable("loading blob from S3", err)
	}
	defer func() { _ = obj.Close() }()
	data, err := io.ReadAll(obj)
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, store.Unavailable("loading blob from S3", err)
	}
	if Digest(data) != digest {
		return nil, false, fmt.Errorf("blob %s in S3 does not match its digest (%d bytes)", digest, len(data))
	}
	return data, true, nil
}

// Touch implements Store: it lengthens running leases only, so a blob whose
// life has ended stays ended, as in the other stores.
func (s *S3) Touch(ctx context.Context, ttl time.Duration, digests ...string) error {
	valid := digests[:0:0]
	for _, d := range digests {
		if ValidDigest(d) {
			valid = append(valid, d)
		}
	}
	if len(valid) == 0 {
		return nil
	}
	_, err := s.leases.renew(ctx, s.now(), ttl, true, valid...)
	return err
}

// PresignGet returns a URL that downloads d straight from the bucket for
// ttl, answered with the blob's immutable Cache-Control and params (S3's
// response-* overrides, e.g. response-content-disposition). A blob whose
// lease has ended is not found, as with Get; a bad digest costs no request.
func (s *S3) PresignGet(ctx context.Context, d string, ttl time.Duration, params url.Values) (*url.URL, bool, error) {
	if !ValidDigest(d) {
		return nil, false, nil
	}
	alive, err := s.leases.alive(ctx, s.now(), d)
	if err != nil || !alive {
		return nil, false, err
	}
	q := url.Values{"response-cache-control": {"public, max-age=31536000, immutable"}}
	for k, v := range params {
		q[k] = v
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.object(d), ttl, q)
	if err != nil {
		return nil, false, fmt.Errorf("presigning blob %s: %w", d, err)
	}
	return u, true, nil
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound"
}
