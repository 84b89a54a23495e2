// Package blob keeps images as immutable, content-addressed blobs: the key is
// the SHA-256 of the bytes, so a blob never changes once written and any
// replica may cache it without invalidation.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Store keeps blobs. Implementations are safe for concurrent use.
type Store interface {
	// Put stores data under its digest and returns the digest. Putting the
	// same bytes again is cheap and extends their life to at least ttl.
	Put(ctx context.Context, data []byte, ttl time.Duration) (digest string, err error)
	// Get returns a blob. A missing or expired blob is found == false with a
	// nil error; err is for system failures only.
	Get(ctx context.Context, digest string) (data []byte, found bool, err error)
	// Touch extends a blob's life to at least ttl; a missing blob is ignored.
	Touch(ctx context.Context, ttl time.Duration, digests ...string) error
}

// Digest returns the lower-case hex SHA-256 of data: a blob's name.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ValidDigest reports whether s looks like a digest Digest returns.
func ValidDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if hex := c >= '0' && c <= '9' || c >= 'a' && c <= 'f'; !hex {
			return false
		}
	}
	return true
}
