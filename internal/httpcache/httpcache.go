// Package httpcache answers conditional GETs for content named by its
// digest: the digest is a strong ETag, since the bytes it names never
// change.
package httpcache

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Validate sets the ETag (the quoted digest) and Cache-Control headers and
// reports whether the request's If-None-Match already names this content;
// in that case it has answered 304 Not Modified and the caller stops.
func Validate(c *gin.Context, digest, cacheControl string) bool {
	etag := `"` + digest + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", cacheControl)
	if !matches(c.GetHeader("If-None-Match"), etag) {
		return false
	}
	c.Status(http.StatusNotModified)
	return true
}

// matches applies If-None-Match's weak comparison (RFC 9110 §13.1.2): a
// list of entity tags, each maybe W/-prefixed, or "*".
func matches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
