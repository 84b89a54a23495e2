package blob

import (
	"context"
	"net/url"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Presigner hands out direct download URLs of an S3 store's blobs and
// reuses each URL for half its life, so that every page view of that
// period names the same URL and browsers (and any CDN) serve the image
// from their cache: a presigned URL changes with its signing time, and a
// new URL is a new download.
type Presigner struct {
	store *S3
	ttl   time.Duration
	urls  *lru.Cache[string, presigned] // an entry past its until is ignored
	now   func() time.Time
}

type presigned struct {
	url   string
	until time.Time // reuse the URL until then (half its life)
}

// NewPresigner returns a Presigner of URLs valid for ttl, remembering up to
// size of them (size must be positive).
func NewPresigner(s *S3, ttl time.Duration, size int) (*Presigner, error) {
	urls, err := lru.New[string, presigned](size)
	if err != nil {
		return nil, err
	}
	return &Presigner{store: s, ttl: ttl, urls: urls, now: time.Now}, nil
}

// URL returns a download URL of digest and how long a client may reuse it;
// found is false when the blob does not exist (or has expired).
func (p *Presigner) URL(ctx context.Context, digest string, params url.Values) (u string, reuse time.Duration, found bool, err error) {
	key := digest + "?" + params.Encode()
	now := p.now()
	if e, ok := p.urls.Get(key); ok && now.Before(e.until) {
		return e.url, e.until.Sub(now), true, nil
	}
	signed, found, err := p.store.PresignGet(ctx, digest, p.ttl, params)
	if err != nil || !found {
		return "", 0, found, err
	}
	e := presigned{url: signed.String(), until: now.Add(p.ttl / 2)}
	p.urls.Add(key, e)
	return e.url, p.ttl / 2, true, nil
}
