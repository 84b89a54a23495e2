package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
)

// BlobRun is what one blob store variant measured: users each upload their
// own photo, open the editor once (the first render) and then view it.
type BlobRun struct {
	Store        string // redis or s3
	Users, Views int
	Upload       int // bytes of each upload
	// Medians over all users (views: over all steady-state views), in ms.
	UploadMs, FirstRenderMs, ViewMs float64
	// RedisPerUser is the growth of Redis' used_memory per active user;
	// BucketPerUser the bytes in the bucket per user.
	RedisPerUser, BucketPerUser float64
}

// BlobStores runs the same load against a local cluster (replicas easel
// processes behind nginx, redis-server) with blobs in Redis, then with
// blobs in S3 (the S3 server binary s3bin on loopback), rounds times
// alternating, and returns one BlobRun per variant and round.
func BlobStores(ctx context.Context, bin, s3bin, dir string, replicas, users, views, rounds int, photo []byte) ([]BlobRun, error) {
	var out []BlobRun
	for round := range rounds {
		for _, store := range []string{"redis", "s3"} {
			r, err := blobRun(ctx, bin, s3bin, filepath.Join(dir, fmt.Sprintf("blobs-%s-%d", store, round)), store, replicas, users, views, photo)
			if err != nil {
				return nil, fmt.Errorf("%s blobs: %w", store, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func blobRun(ctx context.Context, bin, s3bin, dir, store string, replicas, users, views int, photo []byte) (BlobRun, error) {
	run := BlobRun{Store: store, Users: users, Views: views, Upload: len(photo)}
	opts := cluster.Options{Binary: bin, Dir: dir, Replicas: replicas, Store: cluster.StoreRedis, Balance: cluster.RoundRobin}
	var bucket *minio.Client
	if store == "s3" {
		endpoint, client, stop, err := startS3(ctx, s3bin, dir)
		if err != nil {
			return run, err
		}
		defer stop()
		bucket = client
		opts.Env = []string{"EASEL_BLOB_STORE=s3", "EASEL_S3_ENDPOINT=" + endpoint, "EASEL_S3_BUCKET=easel", "EASEL_S3_PATH_STYLE=true",
			"AWS_ACCESS_KEY_ID=" + s3Key, "AWS_SECRET_ACCESS_KEY=" + s3Secret}
	}
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		return run, err
	}
	defer func() { _ = c.Stop() }()
	rdb := redis.NewClient(&redis.Options{Addr: c.Redis().Addr})
	defer func() { _ = rdb.Close() }()
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return run, err
	}
	var uploads, firsts, steady []float64
	base := c.URL()
	for u := range users {
		hc, err := jarClient()
		if err != nil {
			return run, err
		}
		var ws struct {
			CSRF string `json:"csrf_token"`
		}
		if err := get(ctx, hc, base+"/api/v1/workspace", &ws); err != nil {
			return run, err
		}
		data := withComment(photo, fmt.Sprintf("user %d of a %s run", u, store)) // every user's own photo
		ms, err := timed(func() error { return postImage(ctx, hc, base+"/api/v1/image", ws.CSRF, data) })
		if err != nil {
			return run, err
		}
		uploads = append(uploads, ms)
		if ms, err = timed(func() error { return get(ctx, hc, base+"/image", nil) }); err != nil {
			return run, err
		}
		firsts = append(firsts, ms)
		// Every replica renders once (round robin), then steady state.
		for range replicas {
			if err := get(ctx, hc, base+"/image", nil); err != nil {
				return run, err
			}
		}
		for range views {
			ms, err := timed(func() error { return get(ctx, hc, base+"/image", nil) })
			if err != nil {
				return run, err
			}
			steady = append(steady, ms)
		}
	}
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return run, err
	}
	run.UploadMs, run.FirstRenderMs, run.ViewMs = Median(uploads), Median(firsts), Median(steady)
	run.RedisPerUser = (after - before) / float64(users)
	if bucket != nil {
		var total int64
		for obj := range bucket.ListObjectsIter(ctx, "easel", minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				return run, obj.Err
			}
			total += obj.Size
		}
		run.BucketPerUser = float64(total) / float64(users)
	}
	return run, nil
}

// The credentials of the benchmark's S3 server.
const (
	s3Key    = "easelbench"
	s3Secret = "easelbench-secret-key-0123456789"
)

// startS3 starts the S3 test server (hack/tools/gofakes3) on a free port
// with its data in dir and a bucket "easel".
func startS3(ctx context.Context, s3bin, dir string) (endpoint string, client *minio.Client, stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, nil, err
	}
	port, err := cluster.FreePort()
	if err != nil {
		return "", nil, nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(dir, "s3.log"))
	if err != nil {
		return "", nil, nil, err
	}
	defer func() { _ = logf.Close() }()
	cmd := exec.Command(s3bin, "-addr", addr, "-db", filepath.Join(dir, "s3.db"), "-access-key", s3Key, "-secret-key", s3Secret, "-bucket", "easel")
	cmd.Stdout, cmd.Stderr = logf, logf
	proc, err := cluster.StartProcess(cmd)
	if err != nil {
		return "", nil, nil, fmt.Errorf("starting %s (bash hack/install-tools.sh gofakes3): %w", s3bin, err)
	}
	stop = func() { _ = proc.Stop(syscall.SIGTERM, 5*time.Second) }
	client, err = minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s3Key, s3Secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := client.BucketExists(ctx, "easel")
		if err == nil && ok {
			return "http://" + addr, client, stop, nil
		}
		if time.Now().After(deadline) || proc.Exited() {
			stop()
			return "", nil, nil, fmt.Errorf("the S3 server did not come up: %v\n%s", err, cluster.TailFile(logf.Name(), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// withComment returns a copy of a JPEG with a comment segment after its
// start marker: the same picture, other bytes, so another digest.
func withComment(jpeg []byte, comment string) []byte {
	seg := []byte{0xFF, 0xFE, byte((len(comment) + 2) >> 8), byte(len(comment) + 2)}
	out := append([]byte{}, jpeg[:2]...)
	out = append(out, seg...)
	out = append(out, comment...)
	return append(out, jpeg[2:]...)
}

func usedMemory(ctx context.Context, rdb *redis.Client) (float64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("redis info: %w", err)
	}
	return infoFields(info)["used_memory"], nil
}

// timed runs f and returns how long it took in milliseconds.
func timed(f func() error) (float64, error) {
	start := time.Now()
	err := f()
	return float64(time.Since(start).Microseconds()) / 1000, err
}
