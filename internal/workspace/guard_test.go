package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/config"
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

// TestRedisUploadInOneRoundTrip: an upload stores its image and changes its
// workspace in one pipeline, the image first; after Redis forgot the
// scripts (a restart, a failover), the script is sent again on its own and
// the upload still lands whole.
func TestRedisUploadInOneRoundTrip(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	client := testutil.OpenRedis(t, config.Redis{URL: "redis://" + addr})
	trips := testutil.CountTrips(client)
	svc := &Service{Blobs: blob.NewRedis(client, "test"), Workspaces: NewRedis(client, "test", time.Hour), TTL: time.Hour}
	ctx := context.Background()
	upload := func(seed byte) (*Workspace, map[string]int) {
		t.Helper()
		trips.Take()
		w, err := svc.Upload(ctx, "ws1", testImage(t, seed))
		if err != nil {
			t.Fatal(err)
		}
		cost := trips.Take()
		if data, ok, err := svc.Blobs.Get(ctx, w.Original.Digest); err != nil || !ok || len(data) == 0 {
			t.Fatalf("the uploaded image is not stored: %v %v", ok, err)
		}
		return w, cost
	}
	upload(1) // loads the script, dials
	if _, got := upload(2); len(got) != 1 || got["pipeline"] != 1 {
		t.Errorf("an upload cost %v, want one pipeline", got)
	}
	client.ScriptFlush(ctx)
	if w, _ := upload(3); w.Original == nil || w.Cursor != 0 {
		t.Errorf("the upload after SCRIPT FLUSH left %+v", w)
	}
}

// testImage returns a small PNG whose bytes differ by seed.
func testImage(t *testing.T, seed byte) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	img.Set(0, 0, color.NRGBA{R: seed, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
