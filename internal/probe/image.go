package probe

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	"github.com/easelhq/easel/internal/photo"
)

// upload is one generated image and the digest the service must report for
// it.
type upload struct {
	name   string
	data   []byte
	digest string // lowercase hex SHA-256 of data
	width  int
	height int
}

// contentType is what the upload's part claims to be (easel sniffs the
// bytes anyway).
func (u upload) contentType() string {
	if strings.HasSuffix(u.name, ".jpg") {
		return "image/jpeg"
	}
	return "image/png"
}

// makeUpload draws a small PNG that is unique to (run, user, iteration): the
// three numbers are written into the first pixels, and the rest is a
// gradient seeded by them, so that the image is a plausible picture and no
// two flows, not even of different runs, upload the same bytes.
func makeUpload(run uint64, user, iteration, width, height int) (upload, error) {
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	var seed [24]byte
	binary.BigEndian.PutUint64(seed[0:], run)
	binary.BigEndian.PutUint64(seed[8:], uint64(user))
	binary.BigEndian.PutUint64(seed[16:], uint64(iteration))
	h := sha256.Sum256(seed[:])
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			img.SetNRGBA(x, y, color.NRGBA{
				R: h[0] + uint8(x*255/width),
				G: h[1] + uint8(y*255/height),
				B: h[2] ^ uint8(x*y),
				A: 255,
			})
		}
	}
	// The seed itself, 3 bytes per pixel, along the top row.
	for i := 0; i*3 < len(seed) && i < width; i++ {
		c := color.NRGBA{A: 255}
		c.R = seed[i*3]
		if i*3+1 < len(seed) {
			c.G = seed[i*3+1]
		}
		if i*3+2 < len(seed) {
			c.B = seed[i*3+2]
		}
		img.SetNRGBA(i, 0, c)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return upload{}, fmt.Errorf("encoding probe image: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return upload{
		name:   fmt.Sprintf("probe-u%d-i%d.png", user, iteration),
		data:   buf.Bytes(),
		digest: hex.EncodeToString(sum[:]),
		width:  width,
		height: height,
	}, nil
}

// makePhotoUpload is makeUpload for Config.Photo: the run's photo with a
// comment segment naming (run, user, iteration), so that its bytes, and
// hence its digest, are the flow's own.
func makePhotoUpload(base []byte, run uint64, user, iteration, width, height int) (upload, error) {
	data, err := photo.WithComment(base, fmt.Sprintf("easel probe run %x user %d iteration %d", run, user, iteration))
	if err != nil {
		return upload{}, err
	}
	sum := sha256.Sum256(data)
	return upload{
		name:   fmt.Sprintf("probe-u%d-i%d.jpg", user, iteration),
		data:   data,
		digest: hex.EncodeToString(sum[:]),
		width:  width,
		height: height,
	}, nil
}
