package workspace

import (
	"context"
	"time"
)

// Guard is a precondition that the Redis store checks atomically with the
// first workspace command of a request, in the same script: Key must hold
// exactly Value. When it does, the key's expiry is reset to TTL and the
// command runs; when it does not, nothing runs and Changed judges what the
// key holds instead.
//
// The session layer uses it to act on a replica's copy of a session without
// first asking Redis whether that copy is still the session: the edit (or
// the read) itself carries the check, so an action on a session that
// expired or was revoked in Redis is never carried out, and a read never
// shows another session's state, at one round trip instead of two. The
// workspace package knows nothing of sessions: to it, this is a key and the
// bytes it must hold.
//
// A guard is used by one request at a time. Once a command has run under it
// (Held), later commands of the request run without the check, as they did
// after the session's own read before guards.
type Guard struct {
	Key   string
	Value []byte
	TTL   time.Duration
	// Changed is called with what Key holds when it is not Value (found
	// false: the key is gone). Nil means that value is as good for this
	// request: the command is retried under it. An error is returned by the
	// command, which ran nowhere.
	Changed func(ctx context.Context, current []byte, found bool) error

	held bool
}

// Held reports whether a command ran under the guard, which proves that Key
// held Value at that moment.
func (g *Guard) Held() bool { return g.held }

// Confirm marks the guard as held by a check made elsewhere (a plain read
// of Key that found Value): later commands run without it.
func (g *Guard) Confirm() { g.held = true }

// active reports whether the next command must carry the check.
func (g *Guard) active() bool { return g != nil && !g.held }

type guardKey struct{}

// WithGuard returns ctx whose workspace commands check g until one has run.
func WithGuard(ctx context.Context, g *Guard) context.Context {
	return context.WithValue(ctx, guardKey{}, g)
}

func guardFrom(ctx context.Context) *Guard {
	g, _ := ctx.Value(guardKey{}).(*Guard)
	return g
}
