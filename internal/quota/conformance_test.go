package quota

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// fixture is one fresh limiter for one conformance subtest; wait lets time
// pass (real time for Redis, whose script reads Redis' clock).
type fixture struct {
	limiter Limiter
	wait    func(time.Duration)
}

// testLimiterConformance is the suite every Limiter passes.
func testLimiterConformance(t *testing.T, newFixture func(t *testing.T) fixture) {
	ctx := context.Background()
	// 4 a second, all at once: short enough to wait out in real time.
	l := Limit{Rate: 4, Period: time.Second, Burst: 4}
	allow := func(t *testing.T, lim Limiter, key string, n int) Result {
		t.Helper()
		res, err := lim.AllowN(ctx, key, l, n)
		if err != nil {
			t.Fatalf("AllowN: %v", err)
		}
		return res
	}
	t.Run("burst then refused with a retry hint", func(t *testing.T) {
		f := newFixture(t)
		for i := range 4 {
			if !allow(t, f.limiter, "k", 1).Allowed {
				t.Fatalf("event %d of a burst of 4 refused", i+1)
			}
		}
		res := allow(t, f.limiter, "k", 1)
		if res.Allowed {
			t.Fatal("a fifth event in the same instant was allowed")
		}
		if res.RetryAfter <= 0 || res.RetryAfter > 250*time.Millisecond+50*time.Millisecond {
			t.Errorf("RetryAfter = %v, want about one emission interval (250ms)", res.RetryAfter)
		}
		f.wait(res.RetryAfter + 20*time.Millisecond)
		if !allow(t, f.limiter, "k", 1).Allowed {
			t.Error("refused after waiting RetryAfter")
		}
	})
	t.Run("keys are independent", func(t *testing.T) {
		f := newFixture(t)
		if !allow(t, f.limiter, "a", 4).Allowed {
			t.Fatal("a burst of 4 at once refused")
		}
		if !allow(t, f.limiter, "b", 4).Allowed {
			t.Error("another key shares the first key's budget")
		}
	})
	t.Run("cost n counts n events and a refusal counts nothing", func(t *testing.T) {
		f := newFixture(t)
		if !allow(t, f.limiter, "k", 3).Allowed {
			t.Fatal("cost 3 of 4 refused")
		}
		if res := allow(t, f.limiter, "k", 2); res.Allowed || res.RetryAfter <= 0 {
			t.Fatalf("cost 2 with 1 left: %+v, want refused with a hint", res)
		}
		if !allow(t, f.limiter, "k", 1).Allowed {
			t.Error("the last event was refused: the refused cost-2 call was counted")
		}
	})
	t.Run("more than the burst is never allowed", func(t *testing.T) {
		f := newFixture(t)
		if res := allow(t, f.limiter, "k", 5); res.Allowed {
			t.Error("cost 5 with a burst of 4 allowed")
		}
	})
	t.Run("the budget refills", func(t *testing.T) {
		f := newFixture(t)
		allow(t, f.limiter, "k", 4)
		f.wait(time.Second + 50*time.Millisecond)
		if !allow(t, f.limiter, "k", 4).Allowed {
			t.Error("a full burst refused after a whole period")
		}
	})
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	testLimiterConformance(t, func(t *testing.T) fixture {
		clock := testutil.NewClock()
		return fixture{limiter: NewMemory(clock.Now), wait: clock.Advance}
	})
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	testLimiterConformance(t, func(t *testing.T) fixture {
		return fixture{limiter: NewRedis(client, "test:"+t.Name()), wait: time.Sleep}
	})
}

// TestRedisModes runs the suite on Sentinel and Cluster through the client
// a replica builds (a redis.UniversalClient).
func TestRedisModes(t *testing.T) {
	t.Parallel()
	for _, mode := range testutil.RedisModes() {
		t.Run(mode.Name, func(t *testing.T) {
			client := testutil.OpenRedis(t, mode.Start(t))
			testLimiterConformance(t, func(t *testing.T) fixture {
				return fixture{limiter: NewRedis(client, "test:"+t.Name()), wait: time.Sleep}
			})
		})
	}
}

func TestUploadsSaysWhichLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock()
	u := NewUploads(NewMemory(clock.Now), UploadLimits{PerMinute: 4, BytesPerHour: 1 << 30, SessionPerMinute: 2, SessionBytesHour: 10 << 20})
	for range 2 {
		if err := u.Admit(ctx, "10.0.0.1", "s1"); err != nil {
			t.Fatal(err)
		}
	}
	var ex *Exceeded
	if err := u.Admit(ctx, "10.0.0.1", "s1"); !errors.As(err, &ex) || ex.Reason != ReasonUploads || ex.HTTPStatus() != http.StatusTooManyRequests {
		t.Fatalf("third upload of a session limited to 2: %v", err)
	}
	if ex.RetryAfter() <= 0 || ex.RetryAfter() > 30*time.Second {
		t.Errorf("RetryAfter %v, want up to 30s (2 a minute)", ex.RetryAfter())
	}
	if err := u.Admit(ctx, "10.0.0.1", ""); err != nil {
		// The refused third upload spent the address's third (see run).
		t.Fatalf("a new session from the address (3 of 4 used): %v", err)
	}
	if err := u.Admit(ctx, "10.0.0.1", ""); !errors.As(err, &ex) || ex.What != "4 uploads a minute from your address" {
		t.Fatalf("fifth upload of the address: %v", err)
	}
	if err := u.Charge(ctx, "10.0.0.2", "s2", 11<<20); !errors.As(err, &ex) || ex.Reason != ReasonBytes {
		t.Fatalf("11 MiB against a 10 MiB session budget: %v", err)
	}
	if err := u.Charge(ctx, "10.0.0.2", "s3", 9<<20); err != nil {
		t.Fatalf("9 MiB: %v", err)
	}
	clock.Advance(time.Minute)
	if err := u.Admit(ctx, "10.0.0.1", "s1"); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}

func TestExceededSaysWhenInWords(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		200 * time.Millisecond: "retry in 1 second", 1500 * time.Millisecond: "retry in 2 seconds",
		time.Minute: "retry in 60 seconds", 150 * time.Second: "retry in 3 minutes",
	} {
		e := &Exceeded{What: "1 upload a minute per session", Retry: d}
		if !strings.HasSuffix(e.Error(), want) || !strings.Contains(e.Error(), "limit of 1 upload a minute") {
			t.Errorf("%s: %q, want it to end %q", d, e.Error(), want)
		}
	}
}
