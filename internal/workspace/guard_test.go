package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
)

// TestRedisGuard: a command under a Guard runs only while the guard's key
// holds the guard's bytes, checked in the same script; otherwise nothing
// runs and Changed judges what the key holds. Once a command ran under it,
// the request's later commands run unchecked.
func TestRedisGuard(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	client := newRedisClient(t, addr)
	st := NewRedis(client, "test", time.Hour)
	ctx := context.Background()
	const key = "test:guard"
	img := Image{Digest: "d", Width: 4, Height: 3, Format: "png"}
	edit := json.RawMessage(`{"op":"grayscale"}`)

	type call struct {
		current string
		found   bool
	}
	newGuard := func(value string, verdict error) (*Guard, *[]call) {
		var calls []call
		return &Guard{Key: key, Value: []byte(value), TTL: time.Minute, Changed: func(_ context.Context, current []byte, found bool) error {
			calls = append(calls, call{string(current), found})
			return verdict
		}}, &calls
	}
	if err := client.Set(ctx, key, "session-1", time.Second).Err(); err != nil {
		t.Fatal(err)
	}

	// The key holds the bytes: the command runs, and the key's expiry is
	// reset as a session load would.
	g, calls := newGuard("session-1", nil)
	if _, err := st.SetOriginal(WithGuard(ctx, g), "ws1", img); err != nil {
		t.Fatal(err)
	}
	if !g.Held() || len(*calls) != 0 {
		t.Errorf("held %v, Changed calls %v; want held, none", g.Held(), *calls)
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl < 50*time.Second {
		t.Errorf("the key's expiry is %v after a command under the guard, want it reset to 1m", ttl)
	}

	// The key holds other bytes and Changed refuses them: nothing runs.
	client.Set(ctx, key, "session-2", time.Minute)
	refused := errors.New("refused")
	g, calls = newGuard("session-1", refused)
	if _, err := st.Append(WithGuard(ctx, g), "ws1", edit, -1); !errors.Is(err, refused) {
		t.Errorf("append under a stale guard: %v, want Changed's error", err)
	}
	if w, _, _ := st.Get(ctx, "ws1"); len(w.Edits) != 0 || g.Held() {
		t.Errorf("a refused command changed the workspace (%d edits) or held the guard (%v)", len(w.Edits), g.Held())
	}
	if len(*calls) != 1 || (*calls)[0] != (call{"session-2", true}) {
		t.Errorf("Changed calls %v, want one with session-2", *calls)
	}

	// Changed accepts them: the command is retried under them and runs.
	g, calls = newGuard("session-1", nil)
	if w, err := st.Append(WithGuard(ctx, g), "ws1", edit, -1); err != nil || len(w.Edits) != 1 || !g.Held() {
		t.Errorf("append after Changed accepted: %v, %v, held %v; want 1 edit, held", w, err, g.Held())
	}
	if len(*calls) != 1 || string(g.Value) != "session-2" {
		t.Errorf("Changed calls %v, guard value %q; want one call, session-2", *calls, g.Value)
	}
	// Held: the request's next commands are not checked.
	client.Del(ctx, key)
	if _, err := st.Move(WithGuard(ctx, g), "ws1", Undo); err != nil {
		t.Errorf("a command after the guard was held: %v", err)
	}

	// The key is gone: Changed hears found == false, even for a read.
	g, calls = newGuard("session-1", refused)
	if _, _, err := st.Get(WithGuard(ctx, g), "ws1"); !errors.Is(err, refused) {
		t.Errorf("read under a guard whose key is gone: %v, want Changed's error", err)
	}
	if len(*calls) != 1 || (*calls)[0].found {
		t.Errorf("Changed calls %v, want one with found false", *calls)
	}
}
