package config

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag value that accepts plain bytes or a binary unit suffix:
// 26214400, 25MiB, 512KiB, 1GiB (also KB/MB/GB as powers of 1000).
type byteSize int64

var units = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a size such as 25MiB or 26214400", s)
	}
	*b = byteSize(n * mult)
	return nil
}

func (b byteSize) String() string {
	for _, u := range units[:3] {
		if b >= byteSize(u.mult) && int64(b)%u.mult == 0 && (u.mult == 1<<30 || int64(b) < u.mult<<10) {
			return fmt.Sprintf("%d%s", int64(b)/u.mult, u.suffix)
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
