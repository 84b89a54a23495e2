package workspace

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/imaging"
)

// countingBlobs counts the reads of the blob store, each of which a render
// decodes.
type countingBlobs struct {
	blob.Store
	gets atomic.Int64
}

func (c *countingBlobs) Get(ctx context.Context, d string) ([]byte, bool, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, d)
}

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestUploadThenPreviewDecodesOnce: validating an upload decodes its
// preview proxy, which the first preview on the replica then uses instead
// of reading and decoding the photo again; the preview has the size the
// full decode gave, and full-size renders still decode the original.
func TestUploadThenPreviewDecodesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobs := &countingBlobs{Store: blob.NewMemory()}
	svc := &Service{Blobs: blobs, Workspaces: NewMemory(time.Hour), TTL: time.Hour, Limits: imaging.Limits{MaxPixels: 1 << 24}}
	r := NewRenderer(svc, NewMemoryRenderCache(16), 100)
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	w, err := svc.Upload(ctx, id, testJPEG(t, 810, 405))
	if err != nil {
		t.Fatal(err)
	}
	st, err := StateOf(w)
	if err != nil {
		t.Fatal(err)
	}
	if w.Original.Width != 810 || w.Original.Height != 405 {
		t.Errorf("original %d×%d, want the full size", w.Original.Width, w.Original.Height)
	}
	out, err := r.Render(ctx, st, SizePreview, imaging.FormatPNG)
	if err != nil {
		t.Fatal(err)
	}
	if n := blobs.gets.Load(); n != 0 {
		t.Errorf("the first preview read the original %d times; the upload's proxy should have served it", n)
	}
	img, _, err := imaging.Decode(ctx, out.Data, imaging.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Rect.Dx() != 100 || img.Rect.Dy() != 50 {
		t.Errorf("preview %v, want 100×50", img.Rect.Size())
	}
	if _, err := r.Render(ctx, st, SizeFull, imaging.FormatPNG); err != nil {
		t.Fatal(err)
	}
	if n := blobs.gets.Load(); n != 1 {
		t.Errorf("the full render read the original %d times, want 1", n)
	}
}

// TestUploadRefusesTruncatedJPEG: the single reduced-scale decode still
// refuses a truncated photo with a corrupt *imaging.Error, and stores
// nothing.
func TestUploadRefusesTruncatedJPEG(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobs := &countingBlobs{Store: blob.NewMemory()}
	svc := &Service{Blobs: blobs, Workspaces: NewMemory(time.Hour), TTL: time.Hour}
	NewRenderer(svc, NewMemoryRenderCache(16), 100)
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	data := testJPEG(t, 810, 405)
	_, err = svc.Upload(ctx, id, data[:len(data)*3/4])
	var e *imaging.Error
	if !errors.As(err, &e) || e.Code != imaging.CodeCorrupt {
		t.Fatalf("Upload of a truncated JPEG = %v, want a corrupt *imaging.Error", err)
	}
	if _, found, _ := blobs.Store.Get(ctx, blob.Digest(data[:len(data)*3/4])); found {
		t.Error("the truncated upload was stored")
	}
}
