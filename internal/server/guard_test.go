package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// guardSetup is two replicas on one redis-server and a user who uploaded
// an image on A and viewed it on B, so that both replicas hold a copy of
// the session naming its workspace.
type guardSetup struct {
	a, b   string
	rdb    *redis.Client
	user   *browser
	csrf   string
	digest string
}

func newGuardSetup(t *testing.T) guardSetup {
	t.Helper()
	addr, _ := testutil.StartRedis(t)
	g := guardSetup{a: newReplica(t, "replica-a", redisEnv(addr)).URL, b: newReplica(t, "replica-b", redisEnv(addr)).URL}
	g.rdb = redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = g.rdb.Close() })
	g.user = newBrowser(t)
	g.csrf = g.user.csrf(g.a)
	img := testPNG(t, 40, 30, 3)
	g.digest = sha(img)
	if p := g.user.uploadForm(g.a+"/image", img, map[string]string{"csrf_token": g.csrf}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	if p := g.user.get(g.b + "/image"); pageDigest(p.body) != g.digest {
		t.Fatalf("B does not show the upload: %d", p.status)
	}
	return g
}

// edit applies op through the API on srv; it must succeed.
func (g guardSetup) edit(t *testing.T, srv, op string) (apiState, page) {
	t.Helper()
	st, p := g.user.apiCall(http.MethodPost, srv+"/api/v1/workspace/edits", g.csrf, op)
	if p.status != http.StatusOK {
		t.Fatalf("edit %s on %s: %d %s", op, srv, p.status, p.body)
	}
	return st, p
}

// revoke deletes the user's session in Redis, as an operator revoking it
// (or its expiry) would.
func (g guardSetup) revoke(t *testing.T) {
	t.Helper()
	keys, err := g.rdb.Keys(context.Background(), "easel:sess:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("session keys %v, %v; want one", keys, err)
	}
	g.rdb.Del(context.Background(), keys[0])
}

// edits returns the length of the workspace's edit list in Redis.
func (g guardSetup) edits(t *testing.T) int64 {
	t.Helper()
	keys, err := g.rdb.Keys(context.Background(), "easel:{ws:*}:edits").Result()
	if err != nil || len(keys) > 1 {
		t.Fatalf("edit lists %v, %v; want at most one", keys, err)
	}
	if len(keys) == 0 {
		return 0
	}
	return g.rdb.LLen(context.Background(), keys[0]).Val()
}

// TestGuardedActionOnEndedSession: a replica acts on its copy of a session
// without reading the session first, but the edit's script checks that
// Redis still holds exactly that session. A session that ended in Redis is
// never acted on: the API answers 409 with what to do, the form comes back
// with that message, and the workspace is untouched.
func TestGuardedActionOnEndedSession(t *testing.T) {
	t.Parallel()
	g := newGuardSetup(t)
	g.edit(t, g.b, `{"op":"grayscale"}`)
	g.revoke(t)

	_, p := g.user.apiCall(http.MethodPost, g.b+"/api/v1/workspace/edits", g.csrf, `{"op":"invert"}`)
	if p.status != http.StatusConflict || p.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(p.body, "reload the page") {
		t.Errorf("API edit on an ended session: %d %s %s, want 409 problem+json telling to reload", p.status, p.header.Get("Content-Type"), p.body)
	}
	// The replica started from its copy, but the session turned out gone:
	// X-Session says so (the editor's script reloads the page on a miss),
	// and so do the replica's metrics, beside the edit that went through.
	if s := p.header.Get("X-Session"); s != "miss" {
		t.Errorf("API edit on an ended session: X-Session %q, want miss", s)
	}
	if got := counters(t, g.b, "easel_session_copy_total", "result"); got["refused"] != 1 || got["confirmed"] < 1 {
		t.Errorf("B's easel_session_copy_total: %v, want refused 1 and the edit before it confirmed", got)
	}
	p = g.user.postForm(g.a+"/image/edits", url.Values{"csrf_token": {g.csrf}, "op": {"invert"}})
	if p.status != http.StatusSeeOther {
		t.Errorf("form edit on an ended session: %d, want 303 back with a message", p.status)
	}
	if n := g.edits(t); n != 1 {
		t.Errorf("the workspace has %d edits after two actions on an ended session, want the 1 from before", n)
	}
	// The message is shown; the session, and the image, are gone.
	p = g.user.get(g.a + "/image")
	if !strings.Contains(p.body, "reload the page") {
		t.Errorf("the page after the refused form does not say why: %s", p.body)
	}
	if pageDigest(p.body) != "" || p.header.Get("X-Session") != "miss" {
		t.Errorf("after the session ended, A shows image %q with X-Session %q; want none, miss", pageDigest(p.body), p.header.Get("X-Session"))
	}
}

// TestGuardedUploadOnEndedSession: an upload on a replica that holds a copy
// of a session that ended in Redis stores nothing in it: 409, and the
// workspace keeps its image; no replica shows the session again.
func TestGuardedUploadOnEndedSession(t *testing.T) {
	t.Parallel()
	g := newGuardSetup(t)
	g.revoke(t)
	p := g.user.uploadForm(g.b+"/api/v1/image", testPNG(t, 8, 8, 9), nil, map[string]string{"X-CSRF-Token": g.csrf})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "reload the page") {
		t.Errorf("API upload on an ended session: %d %s, want 409 telling to reload", p.status, p.body)
	}
	keys, err := g.rdb.Keys(context.Background(), "easel:{ws:*}").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("workspaces %v, %v; want one", keys, err)
	}
	if img := g.rdb.HGet(context.Background(), keys[0], "img").Val(); !strings.Contains(img, g.digest) {
		t.Errorf("the workspace's image after a refused upload: %s, want the one from before (%.12s)", img, g.digest)
	}
	// The cookie named the session's state before the upload, and A holds
	// that state, confirmed moments ago: the refused upload expired the
	// cookie, so A does not show the ended session from its copy.
	if p := g.user.get(g.a + "/image"); pageDigest(p.body) != "" || p.header.Get("X-Session") != "miss" {
		t.Errorf("after the refused upload, A shows image %q with X-Session %q; want none, miss", pageDigest(p.body), p.header.Get("X-Session"))
	}
}

// TestGuardedPageViewOnEndedSession: after an action, the next page view
// starts from the replica's copy and confirms it with the workspace read in
// the same script; when the session ended in Redis meanwhile, the page is a
// new session's, never the ended one's image.
func TestGuardedPageViewOnEndedSession(t *testing.T) {
	t.Parallel()
	g := newGuardSetup(t)
	g.edit(t, g.a, `{"op":"grayscale"}`)
	g.revoke(t)
	for _, srv := range []string{g.b, g.a} {
		p := g.user.get(srv + "/image")
		if p.status != http.StatusOK || pageDigest(p.body) != "" {
			t.Errorf("the editor on %s after the session ended: %d, image %q; want 200 and no image", srv, p.status, pageDigest(p.body))
		}
	}
	if w, _ := g.user.workspace(g.b); w.Image != nil {
		t.Errorf("the API shows the ended session's image %v", w.Image)
	}
}

// TestGuardedActionNeedsAWorkspaceInTheCopy: a replica whose copy of the
// session is from before its first upload (made on another replica) does
// not answer "no image" from that copy: it reads the session, and the edit
// lands.
func TestGuardedActionNeedsAWorkspaceInTheCopy(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	a, b := newReplica(t, "replica-a", redisEnv(addr)).URL, newReplica(t, "replica-b", redisEnv(addr)).URL
	user := newBrowser(t)
	csrf := user.csrf(a)
	if w, p := user.workspace(b); p.status != http.StatusOK || w.Image != nil { // B caches the session: no workspace yet
		t.Fatalf("workspace before the upload: %d %v", p.status, w.Image)
	}
	if p := user.uploadForm(a+"/image", testPNG(t, 40, 30, 3), map[string]string{"csrf_token": csrf}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	st, p := user.apiCall(http.MethodPost, b+"/api/v1/workspace/edits", csrf, `{"op":"grayscale"}`)
	if p.status != http.StatusOK || len(st.Edits) != 1 {
		t.Errorf("edit on B right after the first upload on A: %d %s, want 200 with 1 edit", p.status, p.body)
	}
}

// TestVersionCookieNotResent: after an action the version cookie names no
// state; a second action in a row leaves it as it is instead of sending
// the same cookie again, and the next page view names the state again.
func TestVersionCookieNotResent(t *testing.T) {
	t.Parallel()
	g := newGuardSetup(t)
	setsVersion := func(p page) bool {
		for _, c := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "easel_session_v=") {
				return true
			}
		}
		return false
	}
	for i, srv := range []string{g.a, g.b} {
		_, p := g.edit(t, srv, `{"op":"grayscale"}`)
		if got, want := setsVersion(p), i == 0; got != want {
			t.Errorf("edit %d sets the version cookie: %v, want %v", i+1, got, want)
		}
	}
	if p := g.user.get(g.a + "/image"); !setsVersion(p) {
		t.Error("the page view after the edits does not bring the version cookie up to date")
	}
}

// rewriteSession changes the user's stored session in Redis with f (on its
// JSON), as another replica's save would, keeping its expiry.
func (g guardSetup) rewriteSession(t *testing.T, f func(string) string) {
	t.Helper()
	ctx := context.Background()
	keys, err := g.rdb.Keys(ctx, "easel:sess:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("session keys %v, %v; want one", keys, err)
	}
	old := g.rdb.Get(ctx, keys[0]).Val()
	changed := f(old)
	if changed == old {
		t.Fatalf("rewriting the session changed nothing: %s", old)
	}
	g.rdb.SetArgs(ctx, keys[0], changed, redis.SetArgs{KeepTTL: true})
}

// TestGuardedSessionChangedInRedis: when Redis holds another state of the
// session than a replica's copy, an action goes on only if the session's
// values are the copy's (here: saved again, as is), and otherwise changes
// nothing and answers 409; a page view is made from what Redis holds.
func TestGuardedSessionChangedInRedis(t *testing.T) {
	t.Parallel()
	g := newGuardSetup(t)
	tag := regexp.MustCompile(`"t":"[0-9a-z]+"`)
	g.rewriteSession(t, func(s string) string { return tag.ReplaceAllString(s, `"t":"resaved"`) })
	if st, _ := g.edit(t, g.b, `{"op":"grayscale"}`); len(st.Edits) != 1 {
		t.Fatalf("edit after the session was saved again unchanged: %d edits, want 1", len(st.Edits))
	}

	// Another replica pointed the session at another workspace.
	ws := regexp.MustCompile(`"ws":"[^"]+"`)
	g.rewriteSession(t, func(s string) string { return ws.ReplaceAllString(s, `"ws":"AAAAAAAAAAAAAAAAAAAAAA"`) })
	_, p := g.user.apiCall(http.MethodPost, g.a+"/api/v1/workspace/edits", g.csrf, `{"op":"invert"}`)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "reload the page") {
		t.Errorf("edit on a copy naming another workspace than Redis' session: %d %s, want 409 telling to reload", p.status, p.body)
	}
	if n := g.edits(t); n != 1 {
		t.Errorf("the copy's workspace has %d edits, want 1: the refused edit was applied", n)
	}
	if p := g.user.get(g.b + "/image"); pageDigest(p.body) != "" {
		t.Errorf("the page shows the copy's image %q; Redis' session names a workspace that does not exist", pageDigest(p.body))
	}
}
