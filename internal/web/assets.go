package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/easelhq/easel/internal/httpcache"
)

// assets are the embedded stylesheet and script under content-hashed
// names ("editor.3f9a0c1d2e4b.js"): a name changes whenever its bytes do,
// so browsers may keep a copy for a year and a new release is still picked
// up at once. Every replica computes the same names from the same binary.
type assets struct {
	byHash map[string]asset  // "editor.3f9a0c1d2e4b.js" → the file
	urls   map[string]string // "editor.js" → "/assets/editor.3f9a0c1d2e4b.js"
}

type asset struct {
	data        []byte
	contentType string
	hash        string
}

// loadAssets hashes every file of the embedded static folder.
func loadAssets() (*assets, error) {
	a := &assets{byHash: map[string]asset{}, urls: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])[:12]
		name := path.Base(p)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		a.byHash[hashed] = asset{data: data, contentType: mime.TypeByExtension(ext), hash: hash}
		a.urls[name] = "/assets/" + hashed
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hashing the static assets: %w", err)
	}
	return a, nil
}

// url returns the content-hashed URL of the static file name; templates
// call it as {{asset "editor.js"}}. An unknown name is a template bug and
// fails the page's parse-time check (see New).
func (a *assets) url(name string) (string, error) {
	u, ok := a.urls[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return u, nil
}

// Asset serves a static file by its content-hashed name, cacheable for a
// year: the bytes behind a name never change.
func (h *Handler) Asset(c *gin.Context) {
	f, ok := h.assets.byHash[c.Param("name")]
	if !ok {
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusNotFound, "no such asset: this page may come from an older release; reload it\n")
		return
	}
	if httpcache.Validate(c, f.hash, "public, max-age=31536000, immutable") {
		return
	}
	c.Data(http.StatusOK, f.contentType, f.data)
}
