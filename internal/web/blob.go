package web

import (
	"fmt"
	"net/http"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/httpcache"
	"github.com/gin-gonic/gin"
)

// Blob serves an image by digest. Blobs never change, so the digest is a
// strong ETag and browsers may cache the bytes for a year.
func (h *Handler) Blob(c *gin.Context) {
	d := c.Param("digest")
	if !blob.ValidDigest(d) {
		c.String(http.StatusNotFound, "no such image: a digest is 64 lower-case hex characters\n")
		return
	}
	if httpcache.Validate(c, d, "public, max-age=31536000, immutable") {
		return
	}
	if h.presign != nil {
		h.redirectToBlob(c, d)
		return
	}
	data, found, err := h.svc.Blobs.Get(c.Request.Context(), d)
	if err != nil {
		h.fail(c, err)
		return
	}
	if !found {
		blobGone(c)
		return
	}
	c.Data(http.StatusOK, http.DetectContentType(data), data)
}

// redirectToBlob sends the browser to a presigned URL of the blob in the
// bucket (which answers with the same immutable Cache-Control); the
// redirect itself may be reused while the URL is.
func (h *Handler) redirectToBlob(c *gin.Context, d string) {
	u, reuse, found, err := h.presign.URL(c.Request.Context(), d, nil)
	if err != nil {
		h.fail(c, err)
		return
	}
	if !found {
		blobGone(c)
		return
	}
	c.Header("Cache-Control", fmt.Sprintf("private, max-age=%d", int(reuse.Seconds())))
	c.Redirect(http.StatusFound, u)
}

// blobGone answers for a blob that is not (or no longer) stored; the answer
// must not be cached, as the same digest may be uploaded again.
func blobGone(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.String(http.StatusNotFound, "no such image (it may have expired)\n")
}
