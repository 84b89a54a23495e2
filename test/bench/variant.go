package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

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
