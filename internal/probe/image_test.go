package probe

import (
	"bytes"
	"image/png"
	"testing"
)

func TestMakeUploadIsUniqueAndDecodes(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, tc := range []struct {
		run        uint64
		user, iter int
	}{{1, 0, 0}, {1, 0, 1}, {1, 1, 0}, {2, 0, 0}, {1, 255, 255}} {
		u, err := makeUpload(tc.run, tc.user, tc.iter, 64, 48)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(u.data))
		if err != nil {
			t.Fatalf("generated image does not decode: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 48 {
			t.Fatalf("generated image is %v", b)
		}
		if len(u.digest) != 64 {
			t.Fatalf("digest %q is not hex SHA-256", u.digest)
		}
		if prev, dup := seen[u.digest]; dup {
			t.Fatalf("%s and %s have the same digest", prev, u.name)
		}
		seen[u.digest] = u.name
	}
}
