package compose

import (
	"context"
	"errors"
	"image"
	"image/color"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/redis/go-redis/v9"
)

// replica is one replica's compose service over shared (or memory) stores.
type replica struct {
	svc *Service
	ws  *workspace.Service
	r   *workspace.Renderer
}

type stores struct {
	jobs  JobStore
	blobs blob.Store
	wss   workspace.Store
	rc    workspace.RenderCache
}

func memoryStores() stores {
	return stores{NewMemoryJobs(time.Minute), blob.NewMemory(), workspace.NewMemory(time.Minute), workspace.NewMemoryRenderCache(64)}
}

func redisStores(client redis.UniversalClient) stores {
	return stores{NewRedisJobs(client, "e", time.Minute), blob.NewRedis(client, "e"),
		workspace.NewRedis(client, "e", time.Minute), workspace.NewRedisRenderCache(client, "e", time.Minute)}
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func newReplica(t *testing.T, owner string, st stores, ai Compositor, rc RunnerConfig) *replica {
	t.Helper()
	ws := &workspace.Service{Blobs: st.blobs, Workspaces: st.wss, TTL: time.Minute, Limits: imaging.Limits{MaxPixels: 1 << 24}}
	r := workspace.NewRenderer(ws, st.rc, 256)
	if rc.Owner == "" {
		rc.Owner = owner
	}
	if rc.Poll == 0 {
		rc.Poll = 20 * time.Millisecond
	}
	svc, err := New(Config{Runner: rc, TTL: time.Minute},
		Deps{Jobs: st.jobs, Blobs: st.blobs, Workspaces: WorkspaceAdapter{Service: ws, Renderer: r}, Limits: ws.Limits, Log: testLog(t), AI: ai})
	if err != nil {
		t.Fatal(err)
	}
	return &replica{svc: svc, ws: ws, r: r}
}

// upload creates a workspace holding img.
func (rp *replica) upload(t *testing.T, img *image.NRGBA) string {
	t.Helper()
	id, err := workspace.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.ws.Upload(context.Background(), id, pngBytes(t, img)); err != nil {
		t.Fatal(err)
	}
	return id
}

// await polls get until the job is final.
func await(t *testing.T, get func(context.Context, string) (Job, bool, error), id string, within time.Duration) Job {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, found, err := get(context.Background(), id)
		if err != nil || !found {
			t.Fatalf("Get(%s) = %v, %v", id, found, err)
		}
		if j.Status.Final() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s after %s: %+v", j.Status, within, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// current renders the workspace's current image.
func (rp *replica) current(t *testing.T, wsID string) (*image.NRGBA, *workspace.State) {
	t.Helper()
	ctx := context.Background()
	w, _, err := rp.ws.Get(ctx, wsID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := workspace.StateOf(w)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rp.r.Render(ctx, st, workspace.SizeFull, "png")
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(ctx, r.Data, imaging.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return img, st
}

func TestServiceReplaceBackgroundEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rp := newReplica(t, "a", memoryStores(), nil, RunnerConfig{})
	rp.svc.Start(ctx)
	t.Cleanup(func() { _ = rp.svc.Stop(context.Background()) })
	wsID := rp.upload(t, disc(80, 60, 20))
	if _, err := rp.ws.Edit(ctx, wsID, imaging.Op{Op: imaging.OpFlip, Direction: "horizontal"}); err != nil {
		t.Fatal(err)
	}
	req, _ := ParseRequest([]byte(`{"mode":"replace-background","background":{"color":"#2255ff"}}`))
	j, err := rp.svc.Submit(ctx, wsID, req)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != StatusQueued || !ValidJobID(j.ID) {
		t.Fatalf("Submit = %+v", j)
	}
	done := await(t, rp.svc.Get, j.ID, 10*time.Second)
	if done.Status != StatusSucceeded || done.Result == nil || done.Progress != 1 || done.Result.Width != 80 {
		t.Fatalf("job = %+v", done)
	}
	img, st := rp.current(t, wsID)
	last := st.Applied()[len(st.Applied())-1]
	if last.Op != imaging.OpComposite || last.Result != done.Result.Digest || len(st.Applied()) != 2 {
		t.Fatalf("edit list %v, want flip then composite %s", st.Applied(), done.Result.Digest)
	}
	if c := img.NRGBAAt(0, 0); !near(c, blue, 1) {
		t.Errorf("corner %v, want blue", c)
	}
	if c := img.NRGBAAt(40, 30); !near(c, red, 1) {
		t.Errorf("centre %v, want red", c)
	}
	// The composite is undone like any edit.
	if _, err := rp.ws.Move(ctx, wsID, workspace.Undo); err != nil {
		t.Fatal(err)
	}
	if img, _ := rp.current(t, wsID); !near(img.NRGBAAt(0, 0), white, 0) {
		t.Errorf("after undo, corner %v, want white", img.NRGBAAt(0, 0))
	}
	if v := done.View(); v.Status != StatusSucceeded || v.Result.Digest != done.Result.Digest {
		t.Errorf("View = %+v", v)
	}
}

func TestServiceOverlayEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rp := newReplica(t, "a", memoryStores(), nil, RunnerConfig{})
	rp.svc.Start(ctx)
	t.Cleanup(func() { _ = rp.svc.Stop(context.Background()) })
	wsID := rp.upload(t, fill(50, 50, white))
	logo, err := rp.ws.Asset(ctx, pngBytes(t, fill(5, 5, red)))
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Mode: ModeOverlay, Asset: logo.Digest, X: 0.5, Y: 0.5, Scale: 0.2, Opacity: 0.5, Blend: BlendNormal}
	j, err := rp.svc.Submit(ctx, wsID, req)
	if err != nil {
		t.Fatal(err)
	}
	if done := await(t, rp.svc.Get, j.ID, 10*time.Second); done.Status != StatusSucceeded {
		t.Fatalf("job = %+v", done)
	}
	img, _ := rp.current(t, wsID)
	if c := img.NRGBAAt(25, 25); !near(c, color.NRGBA{255, 128, 128, 255}, 1) {
		t.Errorf("overlay centre %v, want ≈ 255,128,128", c)
	}
}

func TestServiceSubmitRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memoryStores()
	rp := newReplica(t, "a", st, nil, RunnerConfig{})
	wsID := rp.upload(t, fill(10, 10, white))
	notImage, err := st.blobs.Put(ctx, []byte("this is not an image"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ws     string
		req    Request
		status int
		is     error
	}{
		{"unknown mode", wsID, Request{Mode: "sepia"}, 400, nil},
		{"empty prompt", wsID, Request{Mode: ModeAI, Prompt: " "}, 400, nil},
		{"ai without backend", wsID, Request{Mode: ModeAI, Prompt: "beach"}, 422, nil},
		{"unknown asset", wsID, Request{Mode: ModeOverlay, Asset: digest, X: 0.5, Y: 0.5, Scale: 0.3, Opacity: 1, Blend: BlendNormal}, 422, nil},
		{"asset not an image", wsID, Request{Mode: ModeReplaceBackground, Background: &Background{Asset: notImage}, Tolerance: 0.1}, 415, nil},
		{"no workspace", "AAECAwQFBgcICQoLDA0ODw", Request{Mode: ModeReplaceBackground, Background: &Background{Color: "#fff"}, Tolerance: 0.1}, 409, workspace.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rp.svc.Submit(ctx, tc.ws, tc.req)
			if err == nil {
				t.Fatal("Submit succeeded")
			}
			if p := problem.From(err); p.Status != tc.status {
				t.Fatalf("Submit: %v → %d %q, want %d", err, p.Status, p.Detail, tc.status)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("Submit: %v, want %v", err, tc.is)
			}
		})
	}
	if _, found, _ := st.jobs.Claim(ctx, "x", time.Second, 3, "gone"); found {
		t.Fatal("a rejected request stored a job")
	}
}

// blockingAI runs until its context ends, reporting each start.
type blockingAI struct{ started chan string }

func (b blockingAI) Compose(ctx context.Context, in Input, progress func(float64)) (*image.NRGBA, error) {
	progress(0.3)
	b.started <- in.Request.Prompt
	<-ctx.Done()
	return nil, ctx.Err()
}

// greenAI answers with a green image of the input's size.
type greenAI struct{ calls *atomic.Int32 }

func (g greenAI) Compose(_ context.Context, in Input, _ func(float64)) (*image.NRGBA, error) {
	g.calls.Add(1)
	return fill(in.Image.Rect.Dx(), in.Image.Rect.Dy(), color.NRGBA{0, 160, 0, 255}), nil
}

func TestRunnerConcurrencyLimitAndDrain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memoryStores()
	ai := blockingAI{started: make(chan string, 4)}
	rp := newReplica(t, "a", st, ai, RunnerConfig{Concurrency: 1, Lease: time.Second, Heartbeat: 50 * time.Millisecond})
	wsID := rp.upload(t, fill(8, 8, white))
	var ids []string
	for _, p := range []string{"one", "two"} {
		j, err := rp.svc.Submit(ctx, wsID, Request{Mode: ModeAI, Prompt: p})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	rp.svc.Start(ctx)
	if p := <-ai.started; p != "one" {
		t.Fatalf("first job started: %q", p)
	}
	time.Sleep(200 * time.Millisecond)
	first, _, _ := rp.svc.Get(ctx, ids[0])
	second, _, _ := rp.svc.Get(ctx, ids[1])
	if first.Status != StatusRunning || second.Status != StatusQueued {
		t.Fatalf("with concurrency 1: %s and %s, want running and queued", first.Status, second.Status)
	}
	if first.Progress <= 0.05 {
		t.Errorf("heartbeat did not record progress: %g", first.Progress)
	}
	// Draining with a deadline releases the running job back to the queue.
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := rp.svc.Stop(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want the deadline", err)
	}
	first, _, _ = rp.svc.Get(ctx, ids[0])
	if first.Status != StatusQueued || first.Attempts != 0 || first.Owner != "" {
		t.Fatalf("after drain: %+v, want queued again, attempts 0", first)
	}
}

func TestRunnerFailureMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, _ := fakeImagesAPI(t, answerError(400, "", "content_policy_violation", "Your request was rejected as a result of our safety system."))
	st := memoryStores()
	ws := &workspace.Service{Blobs: st.blobs, Workspaces: st.wss, TTL: time.Minute}
	svc, err := New(Config{Backend: BackendOpenAI, TTL: time.Minute, Runner: RunnerConfig{Poll: 20 * time.Millisecond},
		OpenAI: OpenAIConfig{BaseURL: srv.URL, APIKey: testKey, MaxEdge: 64}},
		Deps{Jobs: st.jobs, Blobs: st.blobs, Workspaces: WorkspaceAdapter{Service: ws, Renderer: workspace.NewRenderer(ws, st.rc, 64)}, HTTPClient: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	wsID, _ := workspace.NewID()
	if _, err := ws.Upload(ctx, wsID, pngBytes(t, fill(160, 100, white))); err != nil {
		t.Fatal(err)
	}
	svc.Start(ctx)
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	j, err := svc.Submit(ctx, wsID, Request{Mode: ModeAI, Prompt: "put it on a beach"})
	if err != nil {
		t.Fatal(err)
	}
	done := await(t, svc.Get, j.ID, 10*time.Second)
	if done.Status != StatusFailed || done.Error != "The AI service refused this request: Your request was rejected as a result of our safety system." {
		t.Fatalf("job = %+v", done)
	}
	w, _, _ := ws.Get(ctx, wsID)
	if len(w.Edits) != 0 {
		t.Fatalf("a failed job added edits: %s", w.Edits)
	}
}

// redisClient starts a redis-server and returns a new client factory: each
// replica gets its own connection pool, as separate processes would.
func redisClient(t *testing.T) func() redis.UniversalClient {
	addr, _ := testutil.StartRedis(t)
	return func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
}

func TestJobCrossReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := redisClient(t)
	a := newReplica(t, "replica-a", redisStores(client()), nil, RunnerConfig{})
	b := newReplica(t, "replica-b", redisStores(client()), nil, RunnerConfig{})
	a.svc.Start(ctx) // only A runs jobs
	t.Cleanup(func() { _ = a.svc.Stop(context.Background()) })
	wsID := b.upload(t, disc(60, 60, 15))
	req, _ := ParseRequest([]byte(`{"mode":"replace-background","background":{"gradient":["#2255ff","#2255ff"]}}`))
	j, err := b.svc.Submit(ctx, wsID, req) // submitted on B
	if err != nil {
		t.Fatal(err)
	}
	done := await(t, b.svc.Get, j.ID, 10*time.Second) // polled on B
	if done.Status != StatusSucceeded {
		t.Fatalf("job = %+v", done)
	}
	img, st := b.current(t, wsID)
	if st.Applied()[0].Result != done.Result.Digest || !near(img.NRGBAAt(0, 0), blue, 1) {
		t.Fatalf("replica B sees edits %v, corner %v", st.Applied(), img.NRGBAAt(0, 0))
	}
}

func TestJobKilledWorkerIsTakenOverOrFailed(t *testing.T) {
	t.Parallel()
	client := redisClient(t)
	fast := RunnerConfig{Lease: 400 * time.Millisecond, Heartbeat: 100 * time.Millisecond}
	for _, tc := range []struct {
		name        string
		maxAttempts int
		want        Status
	}{{"taken over", 3, StatusSucceeded}, {"failed after attempts", 1, StatusFailed}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := redisStores(client())
			st.jobs = NewRedisJobs(client(), tc.name, time.Minute)
			cfg := fast
			cfg.MaxAttempts = tc.maxAttempts
			ai := blockingAI{started: make(chan string, 1)}
			a := newReplica(t, "replica-a", st, ai, cfg)
			wsID := a.upload(t, fill(20, 20, white))
			j, err := a.svc.Submit(ctx, wsID, Request{Mode: ModeAI, Prompt: "beach"})
			if err != nil {
				t.Fatal(err)
			}
			killCtx, kill := context.WithCancel(ctx)
			a.svc.Start(killCtx)
			<-ai.started
			time.Sleep(2 * fast.Heartbeat) // let a heartbeat land
			running, _, _ := a.svc.Get(ctx, j.ID)
			if running.Status != StatusRunning || running.Owner != "replica-a" {
				t.Fatalf("before the kill: %+v", running)
			}
			kill() // replica A dies: no release, the lease must lapse

			var calls atomic.Int32
			stB := redisStores(client())
			stB.jobs = NewRedisJobs(client(), tc.name, time.Minute)
			b := newReplica(t, "replica-b", stB, greenAI{calls: &calls}, cfg)
			b.svc.Start(ctx)
			t.Cleanup(func() { _ = b.svc.Stop(context.Background()) })
			done := await(t, b.svc.Get, j.ID, 10*time.Second)
			if done.Status != tc.want {
				t.Fatalf("job = %+v, want %s", done, tc.want)
			}
			switch tc.want {
			case StatusSucceeded:
				if calls.Load() != 1 || done.Attempts != 2 {
					t.Fatalf("taken over: calls %d, attempts %d", calls.Load(), done.Attempts)
				}
				w, _, _ := b.ws.Get(ctx, wsID)
				if len(w.Edits) != 1 {
					t.Fatalf("edits after takeover: %s, want exactly one composite", w.Edits)
				}
			case StatusFailed:
				if done.Error != abandonedReason(1) || calls.Load() != 0 {
					t.Fatalf("failed job: %+v, calls %d", done, calls.Load())
				}
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	st := memoryStores()
	deps := Deps{Jobs: st.jobs, Blobs: st.blobs, Workspaces: WorkspaceAdapter{}}
	for _, cfg := range []Config{{TTL: 0}, {TTL: time.Minute, Backend: "replicate"}, {TTL: time.Minute, Backend: BackendHTTP},
		{TTL: time.Minute, Backend: BackendHTTP, HTTP: HTTPConfig{URL: "inpaint:8080"}}, {TTL: time.Minute, Backend: BackendOpenAI}} {
		if _, err := New(cfg, deps); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New(Config{TTL: time.Minute}, Deps{}); err == nil {
		t.Error("New without deps succeeded")
	}
}
