// Package server assembles easel's HTTP service: the gin engine, its
// middleware, the route table, health, metrics and graceful shutdown. It
// holds no business logic; handlers live in web and api and call workspace.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/compose"
	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/quota"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// The replica-local caches of shared state: how many sessions, workspaces
// and render keys each holds (a few KiB each at most), and how long a copy
// is served before Redis is asked again (which also slides the session's
// idle timer: it ends at most this much early).
const (
	stateCacheSize = 10000
	stateRefresh   = time.Minute
)

// Server is one easel replica.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	engine   *gin.Engine
	metrics  *metrics
	sessions *session.Store
	svc      *workspace.Service
	renderer *workspace.Renderer
	composer *compose.Service
	pinger   store.Pinger    // nil: nothing external to check (memory mode)
	s3       *blob.S3        // nil unless --blob-store s3: its sweeper runs in Start
	presign  *blob.Presigner // nil unless --s3-presign
	closers  []func() error
	// fill watches the store's memory (nil with the memory store);
	// uploads holds the per-client upload budgets.
	fill     *store.FillWatcher
	uploads  *quota.Uploads
	draining atomic.Bool
}

// New builds a server from cfg: it connects the stores (without waiting for
// Redis to answer: /readyz reports that) and registers every route.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: log, metrics: newMetrics()}
	var (
		backend    session.Backend
		blobs      blob.Store
		workspaces workspace.Store
		renders    workspace.RenderCache
		jobs       compose.JobStore
		limiter    quota.Limiter
		keys       = cfg.Session.Keys
		guardKey   func(id string) string
	)
	switch cfg.Session.Store {
	case config.StoreRedis:
		client, err := store.Open(cfg.Redis)
		if err != nil {
			return nil, err
		}
		client.AddHook(store.RoundTrips(s.metrics.redisRoundTrip))
		s.closers = append(s.closers, client.Close)
		s.pinger = store.RedisPinger{Client: client}
		rs := session.NewRedis(client, cfg.Redis.Prefix)
		backend = rs
		if store.OneServer(client) {
			// Sessions and workspaces share one server: a workspace script
			// can check the session too (session.Options.GuardKey).
			guardKey = rs.Key
		}
		blobs = blob.NewRedis(client, cfg.Redis.Prefix)
		if cfg.Blobs.Store == config.BlobS3 {
			if s.s3, err = openS3(cfg, client); err != nil {
				return nil, err
			}
			blobs = s.s3
			if cfg.Blobs.S3.Presign {
				if s.presign, err = blob.NewPresigner(s.s3, cfg.Blobs.S3.PresignTTL, stateCacheSize); err != nil {
					return nil, err
				}
			}
		}
		workspaces = workspace.NewRedis(client, cfg.Redis.Prefix, cfg.Session.Lifetime)
		renders = workspace.NewRedisRenderCache(client, cfg.Redis.Prefix, cfg.Session.Lifetime)
		jobs = compose.NewRedisJobs(client, cfg.Redis.Prefix, cfg.Session.Lifetime)
		limiter = quota.NewRedis(client, cfg.Redis.Prefix)
		// The fill samples use a connection of their own: they are not a
		// request's round trips, and must not queue behind requests.
		sampler, err := store.Open(cfg.Redis)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, sampler.Close)
		s.fill = store.NewFillWatcher(sampler, cfg.Limits.StoreHighWater, log, s.metrics.storeFill.Set)
	default:
		limiter = quota.NewMemory(time.Now)
		backend = session.NewMemory()
		blobs = blob.NewMemory()
		workspaces = workspace.NewMemory(cfg.Session.Lifetime)
		renders = workspace.NewMemoryRenderCache(4096)
		jobs = compose.NewMemoryJobs(cfg.Session.Lifetime)
		if len(keys) == 0 {
			// One replica, memory sessions: a per-process key is harmless
			// (and sessions die with the process anyway).
			k, err := session.RandomKey()
			if err != nil {
				return nil, err
			}
			keys = [][]byte{k}
		}
	}
	if cfg.BlobCacheBytes > 0 && cfg.Session.Store == config.StoreRedis {
		blobs = blob.NewCached(blobs, cfg.BlobCacheBytes, s.metrics.blobLookup)
	}
	opts := session.Options{
		Keys: keys, IdleTTL: cfg.Session.IdleTTL, Lifetime: cfg.Session.Lifetime,
		MaxBytes: cfg.Session.MaxBytes, Secure: cfg.Session.CookieSecure, IsHTTPS: s.isHTTPS, Logger: log,
	}
	if cfg.Session.Store == config.StoreRedis {
		// Shared state, cached per replica: a request whose cookie proves
		// the copy current costs no round trip (session.cache, workspace.Cached).
		opts.CacheSize, opts.RefreshEvery = stateCacheSize, stateRefresh
		opts.Observe = s.metrics.stateLookup("session")
		opts.GuardKey, opts.GuardedRoutes = guardKey, guardedRoutes()
		opts.ObserveCopy = s.metrics.sessionCopy
		opts.Prefetch = func(ctx context.Context, id string) error {
			_, _, err := s.svc.Get(ctx, id)
			return err
		}
		var err error
		if workspaces, err = workspace.NewCached(workspaces, stateCacheSize, stateRefresh, s.metrics.stateLookup("workspace")); err != nil {
			return nil, err
		}
		if renders, err = workspace.NewLocalRenders(renders, stateCacheSize, stateRefresh); err != nil {
			return nil, err
		}
	}
	s.uploads = quota.NewUploads(limiter, quota.UploadLimits{
		PerMinute: cfg.Limits.UploadsPerMinute, BytesPerHour: cfg.Limits.UploadBytesPerHour,
		SessionPerMinute: cfg.Limits.SessionUploadsPerMinute, SessionBytesHour: cfg.Limits.SessionUploadBytesPerHour,
	})
	sessions, err := session.NewStore(timedBackend{Backend: backend, observe: s.metrics.observeStore}, opts)
	if err != nil {
		return nil, err
	}
	s.sessions = sessions
	mem, err := newBudget(cfg.Memory, cfg.BlobCacheBytes, s.metrics)
	if err != nil {
		return nil, err
	}
	s.svc = &workspace.Service{
		Blobs: blobs, Workspaces: workspaces, TTL: cfg.Session.Lifetime,
		Limits: imaging.Limits{MaxPixels: cfg.Upload.MaxPixels}, Budget: mem,
	}
	s.renderer = workspace.NewRenderer(s.svc, renders, cfg.PreviewEdge)
	if s.composer, err = newComposer(cfg, log, blobs, jobs, s.svc, s.renderer); err != nil {
		return nil, err
	}
	if s.engine, err = s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.engine }

// Start runs this replica's background work (the composite job runner,
// the store's fill sampler) until ctx ends. Run calls it; tests that use
// Handler call it themselves.
func (s *Server) Start(ctx context.Context) {
	s.composer.Start(ctx)
	if s.fill != nil {
		go s.fill.Run(ctx, s.cfg.Limits.StoreSampleEvery)
	}
	if s.s3 != nil {
		go s.s3.RunSweeper(ctx, s.cfg.Blobs.S3.SweepEvery, s.log)
	}
}

// openS3 connects the S3 blob store and checks at start that its bucket can
// be used; a failure is a *config.Error naming the setting to fix.
func openS3(cfg *config.Config, client redis.UniversalClient) (*blob.S3, error) {
	mc, err := blob.OpenS3(cfg.Blobs.S3)
	if err != nil {
		return nil, err
	}
	if err := blob.CheckS3(context.Background(), mc, cfg.Blobs.S3); err != nil {
		return nil, err
	}
	return blob.NewS3(mc, cfg.Blobs.S3.Bucket, cfg.Blobs.S3.Prefix, client, cfg.Redis.Prefix), nil
}

// Close releases the store connections.
func (s *Server) Close() error {
	var errs []error
	for _, c := range s.closers {
		if err := c(); err != nil && !errors.Is(err, redis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run serves on ln until ctx is done, then shuts down gracefully: readiness
// fails at once, the server keeps serving for the drain delay (a terminating
// pod still receives requests for a few seconds, until every load balancer
// has seen its endpoint go), and then in-flight requests get the shutdown
// timeout to finish.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	s.Start(workers)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "served_by", s.cfg.PodName, "session_store", s.cfg.Session.Store)
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("draining", "delay", s.cfg.DrainDelay.String())
	time.Sleep(s.cfg.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	// Running composites finish within what is left of the timeout, or go
	// back to the queue for another replica.
	if err := s.composer.Stop(sctx); err != nil {
		s.log.Warn("stopping composite jobs", "err", err)
	}
	s.log.Info("stopped")
	return nil
}
