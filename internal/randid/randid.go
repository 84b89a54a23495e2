// Package randid makes the unguessable identifiers easel hands out
// (sessions, workspaces, jobs): random bytes from crypto/rand, URL-safe
// base64 without padding.
package randid

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// New returns n random bytes, encoded.
func New(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Valid reports whether id is the encoding of exactly n bytes, as New(n)
// makes.
func Valid(id string, n int) bool {
	b, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(b) == n
}
