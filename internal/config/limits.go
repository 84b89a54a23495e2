package config

import (
	"flag"
	"fmt"
	"time"
)

// Limits protects the shared store from one client and from filling up:
// per-client upload budgets (429) and the store's high-water mark (507).
type Limits struct {
	// UploadsPerMinute and UploadBytesPerHour are per client address
	// (gin's ClientIP: X-Forwarded-For only from --trusted-proxies);
	// the Session ones per session. 0 disables a limit.
	UploadsPerMinute          int
	UploadBytesPerHour        int64
	SessionUploadsPerMinute   int
	SessionUploadBytesPerHour int64
	// StoreHighWater is the fraction of Redis' maxmemory past which new
	// state (uploads, assets, composites) is refused; 1 turns the guard off.
	StoreHighWater float64
	// StoreSampleEvery is how often each replica reads INFO memory.
	StoreSampleEvery time.Duration
}

// limitFlags holds the raw limit settings.
type limitFlags struct {
	uploadsPerMin, sessionUploadsPerMin int
	bytesPerHour, sessionBytesPerHour   byteSize
	highWater                           float64
	sampleEvery                         time.Duration
}

func defineLimitFlags(fs *flag.FlagSet) *limitFlags {
	l := &limitFlags{bytesPerHour: 2 << 30, sessionBytesPerHour: 512 << 20}
	fs.IntVar(&l.uploadsPerMin, "uploads-per-minute", 30, "`count` of uploads (images, assets, composites with an upload) a minute per client address (as --trusted-proxies report it), shared by all replicas; 0 disables")
	fs.Var(&l.bytesPerHour, "upload-bytes-per-hour", "upload bytes an hour per client address (a `size`, e.g. 2GiB), shared by all replicas; 0 disables")
	fs.IntVar(&l.sessionUploadsPerMin, "session-uploads-per-minute", 10, "`count` of uploads a minute per session; 0 disables")
	fs.Var(&l.sessionBytesPerHour, "session-upload-bytes-per-hour", "upload bytes an hour per session (a `size`, e.g. 512MiB); 0 disables")
	fs.Float64Var(&l.highWater, "store-high-water", 0.85, "`fraction` of Redis' maxmemory past which new uploads, assets and composites are refused (507) so that existing users' edits and renders still fit; 1 disables (with maxmemory 0 the guard is off anyway)")
	fs.DurationVar(&l.sampleEvery, "store-sample-interval", time.Second, "how often each replica reads Redis' INFO memory for --store-high-water")
	return l
}

// build validates the limits against the largest upload: a byte budget
// smaller than one upload would refuse every upload forever.
func (l *limitFlags) build(maxUpload int64) (Limits, error) {
	out := Limits{
		UploadsPerMinute: l.uploadsPerMin, UploadBytesPerHour: int64(l.bytesPerHour),
		SessionUploadsPerMinute: l.sessionUploadsPerMin, SessionUploadBytesPerHour: int64(l.sessionBytesPerHour),
		StoreHighWater: l.highWater, StoreSampleEvery: l.sampleEvery,
	}
	budget := func(b byteSize) bool { return b == 0 || (int64(b) >= maxUpload && b <= 1<<40) }
	checks := []struct {
		setting string
		ok      bool
		msg     string
		got     any
	}{
		{"uploads-per-minute", l.uploadsPerMin >= 0 && l.uploadsPerMin <= 100000, "must be from 0 (off) to 100000", l.uploadsPerMin},
		{"session-uploads-per-minute", l.sessionUploadsPerMin >= 0 && l.sessionUploadsPerMin <= 100000, "must be from 0 (off) to 100000", l.sessionUploadsPerMin},
		{"upload-bytes-per-hour", budget(l.bytesPerHour), "must be 0 (off) or from --max-upload-bytes to 1TiB", l.bytesPerHour},
		{"session-upload-bytes-per-hour", budget(l.sessionBytesPerHour), "must be 0 (off) or from --max-upload-bytes to 1TiB", l.sessionBytesPerHour},
		{"store-high-water", l.highWater > 0 && l.highWater <= 1, "must be a fraction above 0 and at most 1 (off)", l.highWater},
		{"store-sample-interval", l.sampleEvery >= 100*time.Millisecond && l.sampleEvery <= time.Minute, "must be from 100ms to 1m", l.sampleEvery},
	}
	for _, ck := range checks {
		if !ck.ok {
			return out, &Error{Setting: ck.setting, Msg: fmt.Sprintf("%s (got %q)", ck.msg, fmt.Sprint(ck.got))}
		}
	}
	return out, nil
}
