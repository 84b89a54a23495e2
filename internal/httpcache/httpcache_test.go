package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	const d = "0123456789abcdef"
	for _, tt := range []struct {
		ifNoneMatch string
		want        int
	}{
		{"", http.StatusOK},
		{`"` + d + `"`, http.StatusNotModified},
		{`W/"` + d + `"`, http.StatusNotModified},
		{`"other", "` + d + `"`, http.StatusNotModified},
		{`*`, http.StatusNotModified},
		{`"other"`, http.StatusOK},
		{d, http.StatusOK}, // unquoted: not an entity tag
	} {
		r := gin.New()
		r.GET("/", func(c *gin.Context) {
			if !Validate(c, d, "public, max-age=60") {
				c.String(http.StatusOK, "body")
			}
		})
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if tt.ifNoneMatch != "" {
			req.Header.Set("If-None-Match", tt.ifNoneMatch)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tt.want {
			t.Errorf("If-None-Match %q: status %d, want %d", tt.ifNoneMatch, w.Code, tt.want)
		}
		if w.Header().Get("ETag") != `"`+d+`"` || w.Header().Get("Cache-Control") != "public, max-age=60" {
			t.Errorf("If-None-Match %q: headers %v", tt.ifNoneMatch, w.Header())
		}
		if tt.want == http.StatusNotModified && w.Body.Len() != 0 {
			t.Errorf("If-None-Match %q: a 304 with a body", tt.ifNoneMatch)
		}
	}
}
