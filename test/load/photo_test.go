package load

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/easelhq/easel/internal/photo"
)

// cachedPhoto returns a photo-like w×h JPEG at quality 90 (internal/photo:
// a 48 MP one is 10–15 MiB, as a camera's would be), made once and cached
// in the temporary directory, never in the repository.
func cachedPhoto(t *testing.T, w, h int) []byte {
	t.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("easel-load-photo-%dx%d.jpg", w, h))
	if b, err := os.ReadFile(path); err == nil {
		return b
	}
	b, err := photo.JPEG(w, h, 1, 90)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err == nil {
		_ = os.Rename(tmp, path)
	}
	return b
}
