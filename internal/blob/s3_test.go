package blob

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/minio/minio-go/v7"
	"github.com/redis/go-redis/v9"
)

// s3Env is one real S3 server (SeaweedFS), one bucket and one redis-server,
// shared by a test's subtests; each store gets prefixes of its own.
type s3Env struct {
	srv    *testutil.S3Server
	bucket string
	redis  redis.UniversalClient
}

func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	srv := testutil.StartS3(t)
	srv.Bucket(t, "easel-test")
	return &s3Env{srv: srv, bucket: "easel-test", redis: startRedisClient(t)}
}

// store returns a store as one replica builds it (a client of its own),
// named name, on clock.
func (e *s3Env) store(t *testing.T, name string, clock *testutil.Clock) *S3 {
	t.Helper()
	client, err := OpenS3(config.S3{
		Endpoint: e.srv.Endpoint, Region: "us-east-1", PathStyle: true,
		AccessKeyID: e.srv.AccessKeyID, SecretAccessKey: e.srv.SecretAccessKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	name = strings.NewReplacer("/", "-", " ", "_").Replace(name)
	s := NewS3(client, e.bucket, name+"/", e.redis, "test:"+name)
	s.now = clock.Now
	return s
}

// objectExists asks the bucket itself, not the store.
func (e *s3Env) objectExists(t *testing.T, s *S3, d string) bool {
	t.Helper()
	_, err := e.srv.Client(t).StatObject(context.Background(), e.bucket, s.object(d), minio.StatObjectOptions{})
	if err != nil && !isNotFound(err) {
		t.Fatalf("stat %s: %v", d, err)
	}
	return err == nil
}

func TestS3Conformance(t *testing.T) {
	t.Parallel()
	env := newS3Env(t)
	testStoreConformance(t, func(t *testing.T) fixture {
		clock := testutil.NewClock()
		return fixture{store: env.store(t, t.Name(), clock), short: time.Minute, wait: clock.Advance}
	})
	t.Run("cached", func(t *testing.T) {
		testStoreConformance(t, func(t *testing.T) fixture {
			clock := testutil.NewClock()
			s := NewCached(env.store(t, t.Name(), clock), 1<<20, nil)
			return fixture{store: s, short: time.Minute, wait: clock.Advance, cached: true}
		})
	})
}

// TestS3OnRedisCluster: the lease, deleting-marker and sweep-lock scripts
// work on Redis Cluster, where the keys of one script must share a slot.
func TestS3OnRedisCluster(t *testing.T) {
	t.Parallel()
	srv := testutil.StartS3(t)
	srv.Bucket(t, "easel-test")
	env := &s3Env{srv: srv, bucket: "easel-test", redis: testutil.OpenRedis(t, testutil.StartRedisCluster(t, 3).RedisConfig())}
	testStoreConformance(t, func(t *testing.T) fixture {
		clock := testutil.NewClock()
		return fixture{store: env.store(t, t.Name(), clock), short: time.Minute, wait: clock.Advance}
	})
	t.Run("sweep", func(t *testing.T) {
		ctx := context.Background()
		clock := testutil.NewClock()
		s := env.store(t, t.Name(), clock)
		for i := range 20 { // spread over the cluster's slots
			if _, err := s.Put(ctx, []byte{byte(i)}, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.leases.lock(ctx, "token", time.Minute); err != nil || !ok {
			t.Fatalf("sweep lock: %v, %v", ok, err)
		}
		clock.Advance(2 * time.Minute)
		if n, err := s.Sweep(ctx); err != nil || n != 20 {
			t.Fatalf("Sweep = %d, %v; want 20 deleted", n, err)
		}
	})
}

// TestS3SweepDeletesOnlyUnreferencedBlobs: two replicas share a bucket;
// one stores, the other keeps one blob alive; the sweeper deletes only the
// blob no one touched, and the other once its extended life ends.
func TestS3SweepDeletesOnlyUnreferencedBlobs(t *testing.T) {
	t.Parallel()
	env := newS3Env(t)
	ctx := context.Background()
	clock := testutil.NewClock()
	a, b := env.store(t, t.Name(), clock), env.store(t, t.Name(), clock)

	kept, dropped := []byte("still in a workspace"), []byte("abandoned upload")
	for _, data := range [][]byte{kept, dropped} {
		if _, err := a.Put(ctx, data, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(50 * time.Minute)
	if err := b.Touch(ctx, time.Hour, Digest(kept)); err != nil { // replica b shows the workspace
		t.Fatal(err)
	}
	clock.Advance(20 * time.Minute) // 70 min: dropped's hour is over, kept runs to 110 min
	sweep := func(s *S3, want int) {
		t.Helper()
		if n, err := s.Sweep(ctx); err != nil || n != want {
			t.Fatalf("Sweep = %d, %v; want %d deleted", n, err, want)
		}
	}
	sweep(a, 1)
	if env.objectExists(t, a, Digest(dropped)) {
		t.Fatal("the unreferenced blob is still in the bucket after a sweep")
	}
	if !env.objectExists(t, a, Digest(kept)) {
		t.Fatal("the sweeper deleted a blob another replica had touched")
	}
	sweep(b, 0)
	if data, found, err := a.Get(ctx, Digest(kept)); err != nil || !found || !bytes.Equal(data, kept) {
		t.Fatalf("Get(kept) = %q, %v, %v", data, found, err)
	}
	clock.Advance(41 * time.Minute) // 111 min
	sweep(b, 1)
	if env.objectExists(t, a, Digest(kept)) {
		t.Fatal("the blob outlived its touched lifetime")
	}
}

// TestS3SweeperRunsOnOneReplicaPerInterval: the background sweepers of two
// replicas delete an ended blob by themselves, taking turns through the
// lock, and leave a running one alone.
func TestS3SweeperRunsOnOneReplicaPerInterval(t *testing.T) {
	t.Parallel()
	env := newS3Env(t)
	ctx := context.Background()
	clock := testutil.NewClock()
	a, b := env.store(t, t.Name(), clock), env.store(t, t.Name(), clock)
	ended, err := a.Put(ctx, []byte("abandoned"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := a.Put(ctx, []byte("in use"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runCtx, stop := context.WithCancel(ctx)
	started := time.Now()
	var wg sync.WaitGroup
	for _, s := range []*S3{a, b} {
		wg.Go(func() { s.RunSweeper(runCtx, 100*time.Millisecond, log) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for env.objectExists(t, a, ended) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // ten more intervals
	stop()
	wg.Wait()
	// Without the lock both replicas would sweep every interval.
	intervals := float64(time.Since(started)) / float64(100*time.Millisecond)
	if sweeps := strings.Count(logs.String(), "msg=\"blob sweep\""); float64(sweeps) > intervals*1.5+1 {
		t.Errorf("%d sweeps in %.0f intervals: the replicas did not take turns", sweeps, intervals)
	}
	if env.objectExists(t, a, ended) {
		t.Fatal("the background sweepers did not delete the ended blob")
	}
	if !env.objectExists(t, a, kept) {
		t.Fatal("the background sweepers deleted a blob whose lease runs")
	}
	if n := strings.Count(logs.String(), "deleted=1"); n != 1 {
		t.Fatalf("%d sweeps reported deleting the blob, want exactly 1:\n%s", n, logs.String())
	}
}

// TestS3PutDuringSweepIsNotLost: a Put of the blob a sweeper has just
// claimed for deletion waits for the delete, then uploads again, so the
// blob the user was promised exists afterwards.
func TestS3PutDuringSweepIsNotLost(t *testing.T) {
	t.Parallel()
	env := newS3Env(t)
	ctx := context.Background()
	clock := testutil.NewClock()
	sweeper, uploader := env.store(t, t.Name(), clock), env.store(t, t.Name(), clock)
	data := []byte("uploaded again just as its first life ended")
	d, err := uploader.Put(ctx, data, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)

	var putErr error
	var wg sync.WaitGroup
	sweeper.afterClaim = func(claimed []string) {
		if len(claimed) != 1 || claimed[0] != d {
			t.Errorf("claimed %v, want [%s]", claimed, d)
		}
		done := make(chan struct{})
		wg.Go(func() {
			defer close(done)
			_, putErr = uploader.Put(ctx, data, time.Hour)
		})
		select {
		case <-done:
			t.Error("Put returned while the sweeper held the blob's deleting-marker")
		case <-time.After(300 * time.Millisecond):
		}
	}
	if n, err := sweeper.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	wg.Wait()
	if putErr != nil {
		t.Fatalf("Put: %v", putErr)
	}
	if got, found, err := sweeper.Get(ctx, d); err != nil || !found || !bytes.Equal(got, data) {
		t.Fatalf("Get after the racing Put = %q, %v, %v", got, found, err)
	}
	if n, err := sweeper.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v; want nothing deleted", n, err)
	}
}

// TestS3Unavailable: while the server is down every operation that needs it
// fails with store.ErrUnavailable (the 503 path), a bad digest needs no
// request at all, and the store works again once the server is back.
func TestS3Unavailable(t *testing.T) {
	t.Parallel()
	env := newS3Env(t)
	ctx := context.Background()
	s := env.store(t, t.Name(), testutil.NewClock())
	d, err := s.Put(ctx, []byte("before the outage"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	env.srv.Stop()
	if _, err := s.Put(ctx, []byte("during the outage"), time.Hour); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put while S3 is down = %v, want ErrUnavailable", err)
	}
	if _, _, err := s.Get(ctx, d); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get while S3 is down = %v, want ErrUnavailable", err)
	}
	if _, found, err := s.Get(ctx, "../../etc/passwd"); err != nil || found {
		t.Fatalf("Get(not a digest) = %v, %v; want not found without asking S3", found, err)
	}
	env.srv.Start()
	if got, found, err := s.Get(ctx, d); err != nil || !found || string(got) != "before the outage" {
		t.Fatalf("Get after S3 returned = %q, %v, %v", got, found, err)
	}
	if _, err := s.Put(ctx, []byte("after the outage"), time.Hour); err != nil {
		t.Fatalf("Put after S3 returned: %v", err)
	}
}

// TestS3Throttled: while S3 answers 503 SlowDown, operations fail with
// store.ErrUnavailable (a 503 with Retry-After for the user), and succeed
// again as soon as it stops.
func TestS3Throttled(t *testing.T) {
	t.Parallel()
	if os.Getenv(testutil.WeedEnv) != "" {
		t.Skip("SeaweedFS cannot be told to throttle")
	}
	env := newS3Env(t)
	ctx := context.Background()
	s := env.store(t, t.Name(), testutil.NewClock())
	d, err := s.Put(ctx, []byte("stored before"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	env.srv.Throttle(true)
	if _, err := s.Put(ctx, []byte("stored while throttled"), time.Hour); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put while throttled = %v, want ErrUnavailable", err)
	}
	if _, _, err := s.Get(ctx, d); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get while throttled = %v, want ErrUnavailable", err)
	}
	env.srv.Throttle(false)
	if _, found, err := s.Get(ctx, d); err != nil || !found {
		t.Fatalf("Get after throttling = %v, %v", found, err)
	}
	if _, err := s.Put(ctx, []byte("stored while throttled"), time.Hour); err != nil {
		t.Fatalf("Put after throttling: %v", err)
	}
}

// TestS3CorruptObjectIsNeverServed: bytes that do not hash to their name
// (written around easel) are refused, not served as the image.
func TestS3CorruptObjectIsNeverServed(t *testing.T) {
	t.Parallel()
	env := newS3Env(t)
	ctx := context.Background()
	s := env.store(t, t.Name(), testutil.NewClock())
	d, err := s.Put(ctx, []byte("the real image"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte("something else")
	if _, err := env.srv.Client(t).PutObject(ctx, env.bucket, s.object(d), bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if data, found, err := s.Get(ctx, d); err == nil || found {
		t.Fatalf("Get of a corrupt object = %q, %v, %v; want an error", data, found, err)
	}
}

// TestCheckS3NamesTheSetting: each way a bucket cannot be used stops the
// start with an error naming the setting to fix.
func TestCheckS3NamesTheSetting(t *testing.T) {
	t.Parallel()
	env := newS3Env(t)
	good := config.S3{Endpoint: env.srv.Endpoint, Bucket: env.bucket, Region: "us-east-1", PathStyle: true,
		AccessKeyID: env.srv.AccessKeyID, SecretAccessKey: env.srv.SecretAccessKey}
	tests := []struct {
		name    string
		edit    func(c *config.S3)
		setting string // "" = no error
	}{
		{"works", func(*config.S3) {}, ""},
		{"wrong bucket", func(c *config.S3) { c.Bucket = "no-such-bucket" }, "s3-bucket"},
		{"wrong secret", func(c *config.S3) { c.SecretAccessKey = "wrong" }, "s3-access-key-id-file"},
		{"no credentials", func(c *config.S3) {
			c.AccessKeyID, c.SecretAccessKey, c.SharedCredentialsFile = "", "", filepath.Join(t.TempDir(), "none")
		}, "s3-access-key-id-file"},
		{"credentials from a shared credentials file", func(c *config.S3) {
			c.AccessKeyID, c.SecretAccessKey, c.Profile = "", "", "easel"
			c.SharedCredentialsFile = filepath.Join(t.TempDir(), "credentials")
			ini := "[easel]\naws_access_key_id = " + env.srv.AccessKeyID + "\naws_secret_access_key = " + env.srv.SecretAccessKey + "\n"
			if err := os.WriteFile(c.SharedCredentialsFile, []byte(ini), 0o600); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"unreachable endpoint", func(c *config.S3) { c.Endpoint = "http://127.0.0.1:1" }, "s3-endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tc.edit(&cfg)
			client, err := OpenS3(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckS3(context.Background(), client, cfg)
			var cerr *config.Error
			switch {
			case tc.setting == "" && err != nil:
				t.Fatalf("CheckS3 = %v, want nil", err)
			case tc.setting != "" && (!errors.As(err, &cerr) || cerr.Setting != tc.setting):
				t.Fatalf("CheckS3 = %v, want an error naming --%s", err, tc.setting)
			}
		})
	}
}

// TestS3PrivateCA: an endpoint whose certificate a private CA signed works
// with --s3-ca-file, and without it the start is refused naming the setting.
func TestS3PrivateCA(t *testing.T) {
	t.Parallel()
	srv := testutil.StartS3TLS(t)
	srv.Bucket(t, "easel-tls")
	cfg := config.S3{Endpoint: srv.Endpoint, Bucket: "easel-tls", Region: "us-east-1", PathStyle: true,
		AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey, CAFile: srv.CAFile}
	ctx := context.Background()
	client, err := OpenS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckS3(ctx, client, cfg); err != nil {
		t.Fatalf("CheckS3 with the CA: %v", err)
	}
	s := NewS3(client, cfg.Bucket, "blobs/", startRedisClient(t), "test:"+t.Name())
	d, err := s.Put(ctx, []byte("over TLS"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if data, found, err := s.Get(ctx, d); err != nil || !found || string(data) != "over TLS" {
		t.Fatalf("Get over TLS = %q, %v, %v", data, found, err)
	}

	cfg.CAFile = ""
	if client, err = OpenS3(cfg); err != nil {
		t.Fatal(err)
	}
	var cerr *config.Error
	if err := CheckS3(ctx, client, cfg); !errors.As(err, &cerr) || cerr.Setting != "s3-ca-file" {
		t.Fatalf("CheckS3 without the CA = %v, want an error naming --s3-ca-file", err)
	}
}
