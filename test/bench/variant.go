package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/probe"
	"github.com/gin-contrib/sessions"
	stockredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
)

// inSessionServer is the design easel replaces, reduced to its core: the
// Spring Boot original kept the uploaded image's bytes in the HTTP session.
// Here a gin app on gin-contrib/sessions' stock Redis store does the same:
// POST /image puts the bytes in the session, GET /image reads them back to
// show the page. It exists only to be measured; it saves the session only
// when it changes, so its figures are a lower bound.
func inSessionServer(redisAddr string) (*httptest.Server, error) {
	store, err := stockredis.NewStore(10, "tcp", redisAddr, "", "", []byte("benchmark-only-key-0123456789abcdef"))
	if err != nil {
		return nil, fmt.Errorf("stock redis store: %w", err)
	}
	rs, err := stockredis.GetRedisStore(store)
	if err != nil {
		return nil, err
	}
	rs.SetMaxLength(64 << 20) // the default 4 KiB cap would refuse the image
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	r.GET("/api/v1/workspace", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("csrf", "token")
		if err := s.Save(); err != nil {
			c.AbortWithError(http.StatusServiceUnavailable, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"csrf_token": "token"})
	})
	r.POST("/api/v1/image", func(c *gin.Context) {
		fh, err := c.FormFile("image")
		if err != nil {
			c.AbortWithError(http.StatusBadRequest, err)
			return
		}
		f, err := fh.Open()
		if err != nil {
			c.AbortWithError(http.StatusBadRequest, err)
			return
		}
		defer func() { _ = f.Close() }()
		data, err := io.ReadAll(f)
		if err != nil {
			c.AbortWithError(http.StatusBadRequest, err)
			return
		}
		s := sessions.Default(c)
		s.Set("image", data)
		if err := s.Save(); err != nil {
			c.AbortWithError(http.StatusServiceUnavailable, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/image")
	})
	r.GET("/image", func(c *gin.Context) {
		data, _ := sessions.Default(c).Get("image").([]byte)
		c.String(http.StatusOK, "<img src=\"/preview\"> %d bytes", len(data))
	})
	return httptest.NewServer(r), nil
}

// startInSession starts inSessionServer on a redis-server of its own,
// working in dir/name; stop ends both.
func startInSession(ctx context.Context, dir, name string) (srv *httptest.Server, redisAddr string, stop func(), err error) {
	rdir := filepath.Join(dir, name)
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, "", nil, err
	}
	rsrv, err := cluster.StartRedis(ctx, rdir)
	if err != nil {
		return nil, "", nil, err
	}
	if srv, err = inSessionServer(rsrv.Addr); err != nil {
		_ = rsrv.Stop() // the start failed; that error is the one to report
		return nil, "", nil, err
	}
	// teardown: the figures are taken by then
	return srv, rsrv.Addr, func() { srv.Close(); _ = rsrv.Stop() }, nil
}

// InSessionTraffic measures the same page views as EaselTraffic against
// inSessionServer on its own redis-server.
func InSessionTraffic(ctx context.Context, dir string, views int, data []byte) (Traffic, error) {
	srv, addr, stop, err := startInSession(ctx, dir, "traffic-in-session")
	if err != nil {
		return Traffic{}, err
	}
	defer stop()
	return uploadAndMeasure(ctx, srv.URL, addr, 1, views, data)
}

// InSessionViews is the original design's row of the end-to-end table:
// users virtual users, each with its own cookie jar, upload data to
// inSessionServer (on its own redis-server) and then view the page in a
// loop for d. The original has no edit list, so only page views are
// measured; each view reads the image's bytes out of the session.
func InSessionViews(ctx context.Context, dir string, users int, d time.Duration, data []byte) (E2E, error) {
	srv, _, stop, err := startInSession(ctx, dir, "views-in-session")
	if err != nil {
		return E2E{}, err
	}
	defer stop()
	clients := make([]*http.Client, users)
	for i := range clients {
		if clients[i], err = jarClient(); err != nil {
			return E2E{}, err
		}
		var ws struct {
			CSRF string `json:"csrf_token"`
		}
		if err := get(ctx, clients[i], srv.URL+"/api/v1/workspace", &ws); err != nil {
			return E2E{}, err
		}
		if err := postImage(ctx, clients[i], srv.URL+"/api/v1/image", ws.CSRF, data); err != nil {
			return E2E{}, err
		}
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, hc := range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := get(ctx, hc, srv.URL+"/image", nil)
				took := time.Since(t0)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					latencies = append(latencies, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The same percentiles as the probe's rows of the table.
	sum := probe.Summarize(latencies)
	return E2E{
		Seconds: time.Since(start).Seconds(), PageViews: len(latencies), Failed: failed,
		PageP50: sum.P50, PageP99: sum.P99,
	}, nil
}
