package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

const (
	// sweepHold is how long a sweeper's deleting-marker lives. A deletion
	// that has not finished well within it is abandoned (sweepDeleteTimeout),
	// so a marker never ends while its delete may still run.
	sweepHold          = time.Minute
	sweepDeleteTimeout = sweepHold / 2
	// sweepBatch is how many objects one round of claims and one
	// multi-object delete cover (S3 deletes at most 1000 per request).
	sweepBatch = 500
)

// Sweep deletes, in one pass over the bucket, every blob object whose lease
// has ended. It returns how many it deleted. For each object it atomically
// sets a deleting-marker only if no lease runs (claim), deletes the claimed
// objects, then clears the markers; a Put that meets a marker waits for it
// and uploads again, so an object is never deleted under a running lease.
func (s *S3) Sweep(ctx context.Context) (int, error) {
	token, err := randomToken()
	if err != nil {
		return 0, err
	}
	var batch []string
	deleted := 0
	flush := func() error {
		n, err := s.sweepBatch(ctx, token, batch)
		deleted += n
		batch = batch[:0]
		return err
	}
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return deleted, errors.Join(obj.Err, flush())
		}
		if d := strings.TrimPrefix(obj.Key, s.prefix); ValidDigest(d) {
			batch = append(batch, d)
		}
		if len(batch) == sweepBatch {
			if err := flush(); err != nil {
				return deleted, err
			}
		}
	}
	return deleted, flush()
}

func (s *S3) sweepBatch(ctx context.Context, token string, digests []string) (int, error) {
	if len(digests) == 0 {
		return 0, nil
	}
	claimed, err := s.leases.claim(ctx, s.now(), sweepHold, token, digests)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	if s.afterClaim != nil {
		s.afterClaim(claimed)
	}
	dctx, cancel := context.WithTimeout(ctx, sweepDeleteTimeout)
	defer cancel()
	objs := make(chan minio.ObjectInfo, len(claimed))
	for _, d := range claimed {
		objs <- minio.ObjectInfo{Key: s.object(d)}
	}
	close(objs)
	deleted := len(claimed)
	var errs []error
	for res := range s.client.RemoveObjectsWithResult(dctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		if res.Err != nil && !isNotFound(res.Err) {
			deleted--
			errs = append(errs, res.Err)
		}
	}
	// Clear the markers with a context of their own: they must go even
	// when ctx ended (else Puts of these blobs wait out sweepHold).
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	errs = append(errs, s.leases.release(rctx, token, claimed))
	return deleted, errors.Join(errs...)
}

// RunSweeper sweeps every interval until ctx ends. Every replica runs it; a
// lock in Redis lets one of them sweep per interval. An object whose lease
// ended is therefore deleted at most about one interval (plus a pass over
// the bucket) after its lease ends; Get reports it gone at once.
func (s *S3) RunSweeper(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		token, err := randomToken()
		if err != nil {
			log.Error("blob sweep", "err", err)
			continue
		}
		ok, err := s.leases.lock(ctx, token, every*9/10)
		if err != nil {
			log.Warn("blob sweep skipped", "err", err)
			continue
		}
		if !ok {
			continue
		}
		start := time.Now()
		n, err := s.Sweep(ctx)
		if err != nil {
			log.Warn("blob sweep", "deleted", n, "err", err)
			continue
		}
		level := slog.LevelInfo
		if n == 0 {
			level = slog.LevelDebug // an idle sweep every interval is not news
		}
		log.Log(ctx, level, "blob sweep", "deleted", n, "took", time.Since(start).Round(time.Millisecond))
	}
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
