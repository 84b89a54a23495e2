package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// apiState is the part of GET /api/v1/workspace a reader compares.
type apiState struct {
	Image *struct {
		Digest string `json:"digest"`
	} `json:"image"`
	Edits  []json.RawMessage `json:"edits"`
	Cursor int               `json:"cursor"`
}

func (s apiState) String() string {
	d := ""
	if s.Image != nil {
		d = s.Image.Digest[:12]
	}
	edits := make([]string, len(s.Edits))
	for i, e := range s.Edits {
		edits[i] = string(e)
	}
	return fmt.Sprintf("image %s, cursor %d, edits [%s]", d, s.Cursor, strings.Join(edits, " "))
}

// apiCall sends an API request with the session's CSRF token and decodes
// the workspace it answers.
func (b *browser) apiCall(method, url, csrf string, body string) (apiState, page) {
	b.t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("X-CSRF-Token", csrf)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	p := b.do(req)
	var st apiState
	if p.status < 300 {
		if err := json.Unmarshal([]byte(p.body), &st); err != nil {
			b.t.Fatalf("%s %s: %v: %s", method, url, err, p.body)
		}
	}
	return st, p
}

// testReadYourWrites is the issue's proof: rounds of "write on one replica
// (upload, edit or undo), then at once read on the other", alternating
// which replica writes, so that each always holds a cached copy of the
// state just before the write. Every read must show exactly the state the
// write answered (no stale read), and the edit list must be exactly the
// model's (no lost edit). The editor page is read too, every few rounds, so
// that the HTML path is held to the same standard.
//
// before, if not nil, runs before each round's write (to fail Redis over);
// while Redis is failing over, requests answer 503 and are retried, as the
// probe and a browser would.
func testReadYourWrites(t *testing.T, rounds int, replicas [2]string, before func(round int)) {
	b := newBrowser(t)
	b.retry503 = true
	w, p := b.workspace(replicas[0])
	if p.status != http.StatusOK {
		t.Fatalf("GET workspace: %d %s", p.status, p.body)
	}
	csrf := w.CSRF
	imgRe := regexp.MustCompile(`data-digest="([0-9a-f]{64})"`)
	var model []string // the edits, as the writer answered them
	cursor := 0
	for r := range rounds {
		writer, reader := replicas[r%2], replicas[(r+1)%2]
		if before != nil {
			before(r)
		}
		var want apiState
		switch r % 3 {
		case 0:
			// The editor's form: 303 with a flash message, which saves
			// the session too (the API upload leaves it unchanged).
			img := testPNG(t, 16+r%7, 12, byte(r))
			p = b.uploadForm(writer+"/image", img, map[string]string{"csrf_token": csrf}, nil)
			if p.status != http.StatusSeeOther {
				t.Fatalf("round %d: upload: %d %s", r, p.status, p.body)
			}
			want, p = b.apiCall(http.MethodGet, writer+"/api/v1/workspace", csrf, "")
			model, cursor = nil, 0
		case 1:
			edit := fmt.Sprintf(`{"op":"brightness","amount":%s}`, strconv.FormatFloat(float64(r%200)/1000, 'f', -1, 64))
			want, p = b.apiCall(http.MethodPost, writer+"/api/v1/workspace/edits", csrf, edit)
			model = append(model[:cursor], edit)
			cursor++
		case 2:
			want, p = b.apiCall(http.MethodPost, writer+"/api/v1/workspace/undo", csrf, "")
			cursor = max(0, cursor-1)
		}
		if p.status >= 300 {
			t.Fatalf("round %d: write on %s: %d %s", r, writer, p.status, p.body)
		}
		if want.Cursor != cursor || len(want.Edits) != len(model) {
			t.Fatalf("round %d: the write answered %s; the model has cursor %d and %d edits (lost edit)", r, want, cursor, len(model))
		}
		got, p := b.apiCall(http.MethodGet, reader+"/api/v1/workspace", csrf, "")
		if p.status != http.StatusOK || p.header.Get("X-Session") != "hit" {
			t.Fatalf("round %d: read on %s: %d X-Session %q", r, reader, p.status, p.header.Get("X-Session"))
		}
		if got.String() != want.String() {
			t.Fatalf("round %d: stale read on %s:\n got %s\nwant %s", r, reader, got, want)
		}
		if r%10 == 0 {
			page := b.get(reader + "/image")
			m := imgRe.FindStringSubmatch(page.body)
			undone := strings.Count(page.body, `<li class="undone">`)
			if m == nil || m[1] != want.Image.Digest || !strings.Contains(page.body, fmt.Sprintf("after %d edit(s)", want.Cursor)) || undone != len(want.Edits)-want.Cursor {
				t.Fatalf("round %d: the editor on %s does not show %s", r, reader, want)
			}
		}
	}
}

// cacheHits returns a replica's state cache counters from /metrics.
func cacheHits(t *testing.T, srv string) map[string]float64 {
	t.Helper()
	p := newBrowser(t).get(srv + "/metrics")
	out := map[string]float64{}
	re := regexp.MustCompile(`(?m)^easel_state_cache_total\{kind="(\w+)",result="(\w+)"\} (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(p.body, -1) {
		v, _ := strconv.ParseFloat(m[3], 64)
		out[m[1]+"/"+m[2]] = v
	}
	return out
}

// TestReadYourWritesAcrossReplicas runs 1,000 rounds on two replicas that
// share one real redis-server, then checks that the caches were really in
// play: a test that passed because every read went to Redis would prove
// nothing about them.
func TestReadYourWritesAcrossReplicas(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	a := newReplica(t, "replica-a", redisEnv(addr))
	bsrv := newReplica(t, "replica-b", redisEnv(addr))
	testReadYourWrites(t, 1000, [2]string{a.URL, bsrv.URL}, nil)
	hits := 0.0
	for _, srv := range []string{a.URL, bsrv.URL} {
		m := cacheHits(t, srv)
		// Each replica reads right after the other one wrote. A response to
		// a write vouches for no state, so that read must go to Redis (a
		// miss), never be served the copy from before the write (a hit).
		if m["workspace/miss"] < 450 || m["session/miss"] < 450 {
			t.Errorf("%s: %v; want every read after a write to ask Redis", srv, m)
		}
		hits += m["workspace/hit"]
	}
	// The second view of every tenth round is served from memory.
	if hits < 100 {
		t.Errorf("%.0f workspace hits on the two replicas, want at least 100: were the caches in play?", hits)
	}
}

// TestSteadyStatePageViewNeedsNoRedis: once a replica has seen a session's
// current state, viewing the editor again costs no Redis command at all,
// and the page still says hit.
func TestSteadyStatePageViewNeedsNoRedis(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	a := newReplica(t, "replica-a", redisEnv(addr))
	bsrv := newReplica(t, "replica-b", redisEnv(addr))
	b := newBrowser(t)
	if p := b.uploadForm(a.URL+"/image", testPNG(t, 40, 30, 3), map[string]string{"csrf_token": b.csrf(a.URL)}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	b.get(bsrv.URL + "/image") // takes the flash: a save
	first := b.get(bsrv.URL + "/image")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	commands := func() int64 {
		info, err := rdb.Info(context.Background(), "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`total_commands_processed:(\d+)`).FindStringSubmatch(info)
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n
	}
	before := commands()
	for range 10 {
		p := b.get(bsrv.URL + "/image")
		if p.status != http.StatusOK || p.header.Get("X-Session") != "hit" || pageDigest(p.body) != pageDigest(first.body) || pageDigest(p.body) == "" {
			t.Fatalf("steady-state view: %d X-Session %q digest %q", p.status, p.header.Get("X-Session"), pageDigest(p.body))
		}
	}
	if n := commands() - before - 1; n != 0 { // -1: the first INFO itself
		t.Errorf("10 steady-state page views sent %d Redis commands, want 0", n)
	}
}

// TestRedisModesReadYourWrites repeats the proof on Sentinel and on Redis
// Cluster, each replica with its own client as configured in production.
func TestRedisModesReadYourWrites(t *testing.T) {
	t.Parallel()
	for _, mode := range testutil.RedisModes() {
		if mode.Name == "standalone" {
			continue // TestReadYourWritesAcrossReplicas
		}
		t.Run(mode.Name, func(t *testing.T) {
			t.Parallel()
			cfg := mode.Start(t)
			a := newReplica(t, "replica-a", redisModeEnv(cfg))
			bsrv := newReplica(t, "replica-b", redisModeEnv(cfg))
			testReadYourWrites(t, 300, [2]string{a.URL, bsrv.URL}, nil)
		})
	}
}

// TestSentinelFailoverReadYourWrites repeats the proof across a Sentinel
// failover: midway, once every write the primary acknowledged is on the
// replica, the primary is killed (SIGKILL) and the replica promoted. The
// caches of both easel replicas outlive the failover, and every read must
// still show every write and no stale state.
func TestSentinelFailoverReadYourWrites(t *testing.T) {
	t.Parallel()
	s := testutil.StartSentinel(t)
	cfg := s.RedisConfig()
	a := newReplica(t, "replica-a", redisModeEnv(cfg))
	bsrv := newReplica(t, "replica-b", redisModeEnv(cfg))
	failovers := 0
	testReadYourWrites(t, 300, [2]string{a.URL, bsrv.URL}, func(r int) {
		if r != 150 {
			return
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if _, err := s.WaitReplicated(ctx); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		old, err := s.KillPrimary(ctx)
		if err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		if _, err := s.WaitPrimaryChange(ctx, old); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		failovers++
	})
	if failovers != 1 {
		t.Fatalf("%d failovers, want 1", failovers)
	}
}

// redisModeEnv is the configuration of a replica on cfg's Redis.
func redisModeEnv(cfg config.Redis) map[string]string {
	env := map[string]string{"EASEL_SESSION_STORE": "redis", "EASEL_SESSION_KEYS": testKey}
	switch {
	case len(cfg.ClusterAddrs) > 0:
		env["EASEL_REDIS_CLUSTER_ADDRS"] = strings.Join(cfg.ClusterAddrs, ",")
	case cfg.SentinelMaster != "":
		env["EASEL_REDIS_SENTINEL_MASTER"] = cfg.SentinelMaster
		env["EASEL_REDIS_SENTINEL_ADDRS"] = strings.Join(cfg.SentinelAddrs, ",")
	default:
		env["EASEL_REDIS_URL"] = cfg.URL
	}
	return env
}

// TestClusterFailoverReadYourWrites repeats the proof on a Redis Cluster of
// three primaries with a replica each, failing every shard over to its
// replica midway, each once the replica has every write its primary
// acknowledged (CLUSTER FAILOVER TAKEOVER after the offsets match: the
// default handshake waits for votes these small test clusters do not
// give in time). The go-redis cluster client follows the new slot owners;
// the easel replicas' caches outlive the change and must still show every
// write and no stale state.
func TestClusterFailoverReadYourWrites(t *testing.T) {
	t.Parallel()
	rc := testutil.StartRedisClusterWithReplicas(t, 3, 1)
	cfg := rc.RedisConfig()
	a := newReplica(t, "replica-a", redisModeEnv(cfg))
	bsrv := newReplica(t, "replica-b", redisModeEnv(cfg))
	failedOver := 0
	testReadYourWrites(t, 300, [2]string{a.URL, bsrv.URL}, func(r int) {
		if r != 150 {
			return
		}
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		failedOver = failoverCluster(ctx, t, rc.Addrs)
	})
	if failedOver != 3 {
		t.Fatalf("%d shards failed over, want 3", failedOver)
	}
}

// failoverCluster makes every replica of the cluster at addrs, in turn,
// the primary of its shard once it has replicated everything, waits until
// it is, and returns how many did.
func failoverCluster(ctx context.Context, t *testing.T, addrs []string) int {
	t.Helper()
	role := func(c *redis.Client) []any {
		t.Helper()
		r, err := c.Do(ctx, "ROLE").Slice()
		if err != nil || len(r) < 2 {
			t.Fatalf("ROLE on %s: %v %v", c.Options().Addr, r, err)
		}
		return r
	}
	client := func(addr string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var replicas []*redis.Client
	for _, addr := range addrs {
		if c := client(addr); role(c)[0] == "slave" {
			replicas = append(replicas, c)
		}
	}
	for _, c := range replicas {
		r := role(c) // slave, primary host, port, state, offset
		primary := client(fmt.Sprintf("%v:%v", r[1], r[2]))
		want, _ := role(primary)[1].(int64)
		for {
			if got, _ := role(c)[4].(int64); got >= want {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s did not catch up with its primary: %v", c.Options().Addr, ctx.Err())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := c.Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err(); err != nil {
			t.Fatalf("CLUSTER FAILOVER TAKEOVER on %s: %v", c.Options().Addr, err)
		}
		for role(c)[0] != "master" {
			if ctx.Err() != nil {
				t.Fatalf("%s did not take over: %v", c.Options().Addr, ctx.Err())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return len(replicas)
}

// roundTrips returns a replica's easel_redis_round_trips_total by command.
func roundTrips(t *testing.T, srv string) map[string]float64 {
	t.Helper()
	return counters(t, srv, "easel_redis_round_trips_total", "command")
}

// counters returns the values of a counter vector with one label on srv's
// /metrics, by label value.
func counters(t *testing.T, srv, name, label string) map[string]float64 {
	t.Helper()
	p := newBrowser(t).get(srv + "/metrics")
	out := map[string]float64{}
	re := regexp.MustCompile(`(?m)^` + name + `\{` + label + `="(\w+)"\} (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(p.body, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] += v
	}
	return out
}

func diffTrips(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// TestRoundTripsInMetrics: /metrics counts what a replica asks of Redis, so
// that an operator (and `make bench`) can see what each action costs. An
// upload is one round trip (its image and its script in one pipeline); an
// edit is one (its script, which also checks that the session
// is still the replica's copy of it); the page view after it is one (the
// workspace read, checking the session the same way); a steady page view
// and the upload form cost none. And a form action and the page its
// redirect shows do not save the session (the message travels in its own
// cookie).
func TestRoundTripsInMetrics(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	a := newReplica(t, "replica-a", redisEnv(addr))
	bsrv := newReplica(t, "replica-b", redisEnv(addr))
	c := newReplica(t, "replica-c", redisEnv(addr))
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	session := func() string { // the one session's stored JSON, tag and all
		t.Helper()
		keys, err := rdb.Keys(context.Background(), "easel:sess:*").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("session keys %v, %v; want one", keys, err)
		}
		return rdb.Get(context.Background(), keys[0]).Val()
	}
	b := newBrowser(t)
	csrf := b.csrf(a.URL)
	if p := b.uploadForm(a.URL+"/image", testPNG(t, 40, 30, 3), map[string]string{"csrf_token": csrf}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	if p := b.get(bsrv.URL + "/image"); !strings.Contains(p.body, "Uploaded a 40×30") {
		t.Fatalf("the editor after the upload does not say what was uploaded: %s", p.body)
	}
	b.get(c.URL + "/image")
	// The first upload points the session at its workspace: one save. The
	// second upload and its page save nothing.
	saved := session()
	before := roundTrips(t, a.URL)
	if p := b.uploadForm(a.URL+"/image", testPNG(t, 40, 30, 4), map[string]string{"csrf_token": csrf}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	// The image's writes and the workspace's script (checking the session)
	// travel in one pipeline.
	if got, want := diffTrips(roundTrips(t, a.URL), before), map[string]float64{"pipeline": 1}; !maps.Equal(got, want) {
		t.Errorf("an upload cost %v, want %v", got, want)
	}
	if p := b.get(bsrv.URL + "/image"); !strings.Contains(p.body, "Uploaded a 40×30") {
		t.Fatalf("the editor after the second upload does not say what was uploaded: %s", p.body)
	}
	if now := session(); now != saved {
		t.Errorf("the second upload and its page saved the session:\n%s\n%s", saved, now)
	}
	b.apiCall(http.MethodPost, a.URL+"/api/v1/workspace/edits", csrf, `{"op":"rotate","angle":90}`) // loads the scripts on a
	before = roundTrips(t, a.URL)
	if _, p := b.apiCall(http.MethodPost, a.URL+"/api/v1/workspace/edits", csrf, `{"op":"rotate","angle":90}`); p.status != http.StatusOK {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	// The replica holds a copy of the session: the edit's script checks
	// that Redis still holds exactly that session (workspace.Guard), in the
	// same round trip as the edit.
	if got, want := diffTrips(roundTrips(t, a.URL), before), map[string]float64{"evalsha": 1}; !maps.Equal(got, want) {
		t.Errorf("an edit cost %v, want %v", got, want)
	}
	// After an action: the page's workspace read checks the session too,
	// and the cookie names the state again.
	before = roundTrips(t, bsrv.URL)
	b.get(bsrv.URL + "/image")
	if got := diffTrips(roundTrips(t, bsrv.URL), before); got["getex"] != 0 || got["evalsha"] != 1 {
		t.Errorf("the page view after an edit cost %v, want one evalsha (the workspace read, checking the session) and no getex", got)
	}
	before = roundTrips(t, bsrv.URL)
	for range 5 {
		b.get(bsrv.URL + "/image")
	}
	if got := diffTrips(roundTrips(t, bsrv.URL), before); len(got) != 0 {
		t.Errorf("5 steady page views cost %v, want nothing", got)
	}
	// The form links back to the image in progress without reading the
	// workspace: the session names it. C holds the session as the cookie
	// names it, but not the workspace's latest state.
	before = roundTrips(t, c.URL)
	if p := b.get(c.URL + "/"); !strings.Contains(p.body, "continue editing") {
		t.Errorf("the form after an upload has no link back to the editor: %s", p.body)
	}
	if got := diffTrips(roundTrips(t, c.URL), before); len(got) != 0 {
		t.Errorf("the form cost %v, want nothing", got)
	}
}
