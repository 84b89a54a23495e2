package server

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// floodRedis starts a redis-server with a 64 MiB maxmemory and the given
// eviction policy, as a managed Redis or the chart's would run.
func floodRedis(t *testing.T, policy string) (string, *redis.Client) {
	t.Helper()
	addr, _ := testutil.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	for k, v := range map[string]string{"maxmemory": "64mb", "maxmemory-policy": policy} {
		if err := rc.ConfigSet(context.Background(), k, v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return addr, rc
}

// noisePNG is a distinct, incompressible PNG of about 1 MiB (512×512 RGBA noise).
func noisePNG(t *testing.T, rnd *rand.Rand) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 512, 512))
	for i := 0; i+8 <= len(img.Pix); i += 8 {
		v := rnd.Uint64()
		for j := range 8 {
			img.Pix[i+j] = byte(v >> (8 * j))
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// userA uploads and edits on srv and returns what the workspace is then.
func userA(t *testing.T, srv string) (*browser, string, apiState) {
	a := newBrowser(t)
	w, _ := a.workspace(srv)
	if p := a.uploadForm(srv+"/api/v1/image", testPNG(t, 64, 48, 7), nil, map[string]string{"X-CSRF-Token": w.CSRF}); p.status != http.StatusCreated {
		t.Fatalf("A's upload: %d %s", p.status, p.body)
	}
	st, p := a.apiCall(http.MethodPost, srv+"/api/v1/workspace/edits", w.CSRF, `{"op":"rotate","angle":90}`)
	if p.status != http.StatusOK {
		t.Fatalf("A's edit: %d %s", p.status, p.body)
	}
	return a, w.CSRF, st
}

// checkA reads A's workspace on srv and asserts it is what it was, and that
// it still renders.
func checkA(t *testing.T, a *browser, srv string, want apiState) {
	t.Helper()
	got, p := a.apiCall(http.MethodGet, srv+"/api/v1/workspace", "", "")
	if p.status != http.StatusOK || got.String() != want.String() {
		t.Fatalf("A's workspace after the flood: %d %s (%s), want %s", p.status, got, p.body, want)
	}
	r := a.get(srv + "/api/v1/workspace/render?size=full&format=png")
	if cfg, err := decodePNGConfig([]byte(r.body)); r.status != http.StatusOK || err != nil || cfg.Width != 48 || cfg.Height != 64 {
		t.Fatalf("A's render after the flood: %d %v %+v", r.status, err, cfg)
	}
}

// flood uploads distinct ~1 MiB images (from seed) from new sessions through srv until
// it has offered total bytes (or a minute passed), and counts the answers.
func flood(t *testing.T, srv string, seed uint64, total int) (answers map[int]int, offered int) {
	answers = map[int]int{}
	rnd := rand.New(rand.NewPCG(seed, 2))
	deadline := time.Now().Add(time.Minute)
	for offered < total && time.Now().Before(deadline) {
		img := noisePNG(t, rnd)
		b := newBrowser(t)
		w, _ := b.workspace(srv)
		p := b.uploadForm(srv+"/api/v1/image", img, nil, map[string]string{"X-CSRF-Token": w.CSRF})
		answers[p.status]++
		offered += len(img)
		if p.status == http.StatusInsufficientStorage && (p.header.Get("Retry-After") == "" || !contains(p.body, "full right now")) {
			t.Fatalf("507 without Retry-After or the message: %v %s", p.header, p.body)
		}
	}
	return answers, offered
}

func evicted(t *testing.T, rc *redis.Client) int64 {
	info, err := rc.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split([]byte(info), []byte("\n")) {
		if v, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("evicted_keys:")); ok {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			return n
		}
	}
	t.Fatal("no evicted_keys in INFO stats")
	return 0
}

// TestStoreFullGuard is issue #22's measurement turned into a test: on a
// Redis at 64 MiB with the volatile-lru policy that evicted a user's
// workspace, user A uploads and edits on replica 1; one client then offers
// three times maxmemory of distinct images, a new session each, through
// replica 2. The flood is refused (507) once the store passes its
// high-water mark; Redis evicts nothing, and A's workspace is intact on
// replica 1 (image, edits, a render), and A can still edit. The upload
// budgets are off here so that the store guard alone is tested.
func TestStoreFullGuard(t *testing.T) {
	addr, rc := floodRedis(t, "volatile-lru")
	env := redisEnv(addr)
	env["EASEL_MAX_UPLOAD_BYTES"], env["EASEL_STORE_SAMPLE_INTERVAL"] = "4MiB", "200ms"
	r1, r2 := newReplica(t, "r1", env), newReplica(t, "r2", env)
	a, csrf, want := userA(t, r1.URL)

	start := time.Now()
	answers, offered := flood(t, r2.URL, 1, 3*64<<20)
	t.Logf("flood: %d MiB offered in %v, answers %v, evicted_keys %d", offered>>20, time.Since(start).Round(time.Millisecond), answers, evicted(t, rc))
	if offered < 3*64<<20 {
		t.Fatalf("the flood offered only %d MiB within its time bound", offered>>20)
	}
	if answers[http.StatusInsufficientStorage] == 0 || len(answers) > 2 || answers[http.StatusCreated]+answers[http.StatusInsufficientStorage] != len2(answers) {
		t.Errorf("flood answers %v, want 201s and then 507s only", answers)
	}
	if n := evicted(t, rc); n != 0 {
		t.Errorf("Redis evicted %d keys", n)
	}
	checkA(t, a, r1.URL, want)
	if _, p := a.apiCall(http.MethodPost, r1.URL+"/api/v1/workspace/edits", csrf, `{"op":"rotate","angle":90}`); p.status != http.StatusOK {
		t.Errorf("A's edit while the store is full: %d %s", p.status, p.body)
	}
	if r := a.get(r1.URL + "/api/v1/workspace/render?size=full&format=png"); r.status != http.StatusOK {
		t.Errorf("A's render after an edit while the store is full: %d", r.status)
	}
	if m := counters(t, r2.URL, "easel_refusals_total", "reason"); m["store_full"] != float64(answers[http.StatusInsufficientStorage]) {
		t.Errorf("easel_refusals_total %v, want store_full %d", m, answers[http.StatusInsufficientStorage])
	}
	if evicted(t, rc) != 0 {
		t.Error("A's edit and render made Redis evict keys: the high-water mark leaves no room")
	}
}

// TestStoreFullNoeviction: the chart's policy. With the guard on, the same
// flood is refused and nothing is lost. With the flooding replica's guard
// off (--store-high-water 1), Redis itself refuses writes at maxmemory:
// those answers are 507 too, never 500, and A's state is all there once
// space is freed.
func TestStoreFullNoeviction(t *testing.T) {
	addr, rc := floodRedis(t, "noeviction")
	env := redisEnv(addr)
	env["EASEL_MAX_UPLOAD_BYTES"], env["EASEL_STORE_SAMPLE_INTERVAL"] = "4MiB", "200ms"
	r1 := newReplica(t, "r1", env)
	unguarded := map[string]string{"EASEL_STORE_HIGH_WATER": "1"}
	for k, v := range env {
		unguarded[k] = v
	}
	r2 := newReplica(t, "r2", env)
	r3 := newReplica(t, "r3-unguarded", unguarded)
	a, _, want := userA(t, r1.URL)

	answers, offered := flood(t, r2.URL, 1, 3*64<<20)
	t.Logf("guarded flood: %d MiB offered, answers %v", offered>>20, answers)
	if answers[http.StatusInsufficientStorage] == 0 || answers[http.StatusCreated]+answers[http.StatusInsufficientStorage] != len2(answers) {
		t.Errorf("guarded flood answers %v, want 201s and then 507s only", answers)
	}
	checkA(t, a, r1.URL, want)

	answers, offered = flood(t, r3.URL, 2, 64<<20)
	t.Logf("unguarded flood: %d MiB offered, answers %v", offered>>20, answers)
	if answers[http.StatusInternalServerError] != 0 || answers[http.StatusInsufficientStorage] == 0 {
		t.Errorf("unguarded flood answers %v: Redis' OOM refusals must be 507, never 500", answers)
	}
	if n := evicted(t, rc); n != 0 {
		t.Errorf("noeviction evicted %d keys", n)
	}
	if err := rc.ConfigSet(context.Background(), "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	checkA(t, a, r1.URL, want)
}

// len2 is the number of answers counted.
func len2(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestFloodEvictsWithoutGuard is the control: with the guard off
// (--store-high-water 1) the same flood on volatile-lru is all answered
// 201 and Redis evicts keys, A's workspace among them, as issue #22
// measured. Were this to pass without eviction, TestStoreFullGuard would
// prove nothing.
func TestFloodEvictsWithoutGuard(t *testing.T) {
	addr, rc := floodRedis(t, "volatile-lru")
	env := redisEnv(addr)
	env["EASEL_MAX_UPLOAD_BYTES"], env["EASEL_STORE_HIGH_WATER"] = "4MiB", "1"
	r1, r2 := newReplica(t, "r1", env), newReplica(t, "r2", env)
	a, _, want := userA(t, r1.URL)
	answers, offered := flood(t, r2.URL, 1, 3*64<<20)
	n := evicted(t, rc)
	got, p := a.apiCall(http.MethodGet, r1.URL+"/api/v1/workspace", "", "")
	t.Logf("unguarded flood: %d MiB offered, answers %v, evicted_keys %d; A's workspace: %d %s", offered>>20, answers, n, p.status, got)
	if n == 0 || got.String() == want.String() {
		t.Errorf("without the guard nothing was evicted (%d) or A's workspace survived: the flood is too small to test the guard", n)
	}
}
