// Package session keeps easel's HTTP sessions: a gin-contrib/sessions Store
// whose state lives in a Backend (Redis for any number of replicas, memory for
// one), behind a signed cookie that carries only a server-issued ID.
//
// Sessions hold small state only (a workspace ID, flash messages, the CSRF
// token); images never go into a session.
package session

import (
	"context"
	"errors"
	"time"
)

// ErrGone means the session was deleted (logout, expiry, a concurrent reset)
// between loading and saving it. Saving does not bring it back.
var ErrGone = errors.New("session no longer exists")

// ErrExists means Create found the ID already taken.
var ErrExists = errors.New("session id already exists")

// Backend persists serialized sessions by ID. Implementations must be safe for
// concurrent use by many requests on many replicas.
type Backend interface {
	// Load returns the stored payload and restarts its idle timer (ttl).
	// A missing or expired session returns found == false and err == nil;
	// err is for system failures only (wrapped store.ErrUnavailable).
	Load(ctx context.Context, id string, ttl time.Duration) (data []byte, found bool, err error)
	// Create stores a new session only if id is unused; ErrExists otherwise.
	Create(ctx context.Context, id string, data []byte, ttl time.Duration) error
	// Update replaces a session only if it still exists; ErrGone otherwise,
	// so that a slow request cannot resurrect a session another one deleted.
	Update(ctx context.Context, id string, data []byte, ttl time.Duration) error
	// Delete removes a session. Deleting a missing session is not an error.
	Delete(ctx context.Context, id string) error
}
