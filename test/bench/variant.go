package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/easelhq/easel/internal/cluster"
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

// InSessionTraffic measures the same page views as EaselTraffic against
// inSessionServer on its own redis-server.
func InSessionTraffic(ctx context.Context, dir string, views int, data []byte) (Traffic, error) {
	rdir := filepath.Join(dir, "traffic-in-session")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return Traffic{}, err
	}
	rsrv, err := cluster.StartRedis(ctx, rdir)
	if err != nil {
		return Traffic{}, err
	}
	defer func() { _ = rsrv.Stop() }() // teardown: the figures are taken by then
	srv, err := inSessionServer(rsrv.Addr)
	if err != nil {
		return Traffic{}, err
	}
	defer srv.Close()
	return uploadAndMeasure(ctx, srv.URL, rsrv.Addr, 1, views, data)
}

// InSessionViews is the original design's row of the end-to-end table:
// users virtual users, each with its own cookie jar, upload data to
// inSessionServer (on its own redis-server) and then view the page in a
// loop for d. The original has no edit list, so only page views are
// measured; each view reads the image's bytes out of the session.
func InSessionViews(ctx context.Context, dir string, users int, d time.Duration, data []byte) (E2E, error) {
	rdir := filepath.Join(dir, "views-in-session")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return E2E{}, err
	}
	rsrv, err := cluster.StartRedis(ctx, rdir)
	if err != nil {
		return E2E{}, err
	}
	defer func() { _ = rsrv.Stop() }() // teardown: the figures are taken by then
	srv, err := inSessionServer(rsrv.Addr)
	if err != nil {
		return E2E{}, err
	}
	defer srv.Close()
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
		latencies []float64
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
				ms := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				if err != nil {
					failed++
				} else {
					latencies = append(latencies, ms)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	sort.Float64s(latencies)
	return E2E{
		Seconds: secs, PageViews: len(latencies), Failed: failed,
		PageP50: quantile(latencies, 0.50), PageP99: quantile(latencies, 0.99),
	}, nil
}

// quantile returns the q-quantile of sorted values (0 when there are none).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
