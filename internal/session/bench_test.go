package session

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gin-contrib/sessions"
	stockredis "github.com/gin-contrib/sessions/redis"
)

// BenchmarkStoreGetSave measures what every request pays for its session:
// Store.Get (cookie check, backend load, decode) and Store.Save (encode,
// backend update) of a realistic session holding a workspace ID, a CSRF
// token and two flash messages. Parallel runs give every goroutine its own
// session, like many users at once.
//
// Three stores run against one redis-server through the same gorilla/gin
// Store API: easel's Redis store (go-redis), gin-contrib/sessions' stock
// Redis store (redistore on redigo) and easel's memory store. Besides
// ns/op, B/op and allocs/op each reports p99-µs, the 99th percentile of
// single Get+Save latencies. Names are key=value so benchstat can put the
// stores side by side:
//
//	go test -run '^$' -bench StoreGetSave -count 10 ./internal/session/ | benchstat -col /store -
func BenchmarkStoreGetSave(b *testing.B) {
	client := startRedisClient(b)
	opts := Options{
		Keys: [][]byte{testKey(1), testKey(2)}, IdleTTL: 30 * time.Minute, Lifetime: 24 * time.Hour,
		MaxBytes: 8 << 10, Secure: "never",
	}
	easelRedis, err := NewStore(NewRedis(client, "bench"), opts)
	if err != nil {
		b.Fatal(err)
	}
	memory, err := NewStore(NewMemory(), opts)
	if err != nil {
		b.Fatal(err)
	}
	// The stock store's size is its pool's idle-connection cap; 10 ×
	// GOMAXPROCS is go-redis' default pool size, which easel's client uses,
	// so both keep the same number of connections open.
	stock, err := stockredis.NewStore(10*runtime.GOMAXPROCS(0), "tcp", client.Options().Addr, "", "", testKey(1))
	if err != nil {
		b.Fatal(err)
	}
	stock.Options(sessions.Options{Path: "/", MaxAge: 1800, HttpOnly: true})
	b.Cleanup(func() {
		if rs, err := stockredis.GetRedisStore(stock); err == nil {
			_ = rs.Close()
		}
	})

	stores := []struct {
		name  string
		store sessions.Store
	}{
		{"easel", easelRedis},
		{"stock", stock},
		{"memory", memory},
	}
	for _, st := range stores {
		b.Run("store="+st.name+"/conc=seq", func(b *testing.B) {
			cookie := newBenchSession(b, st.store)
			lat := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				if err := benchGetSave(st.store, cookie); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportP99(b, lat)
		})
		for _, goroutines := range []int{16, 64} {
			b.Run("store="+st.name+"/conc=par"+strconv.Itoa(goroutines), func(b *testing.B) {
				b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
				var (
					mu  sync.Mutex
					lat []time.Duration
				)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					cookie := newBenchSession(b, st.store)
					local := make([]time.Duration, 0, 1<<12)
					for pb.Next() {
						start := time.Now()
						if err := benchGetSave(st.store, cookie); err != nil {
							b.Error(err)
							return
						}
						local = append(local, time.Since(start))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				})
				reportP99(b, lat)
			})
		}
	}
}

// reportP99 reports the 99th percentile of lat in microseconds.
func reportP99(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[(len(lat)*99)/100])/1e3, "p99-µs")
}

// discardWriter is a ResponseWriter that keeps only headers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// benchRequest returns a request as Middleware hands it on.
func benchRequest(cookie *http.Cookie) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://easel.test/image", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	return r.WithContext(context.WithValue(r.Context(), infoKey{}, &requestInfo{byName: map[string]*sessionInfo{}}))
}

// newBenchSession creates a session holding a workspace ID and a CSRF token
// and returns its cookie.
func newBenchSession(b *testing.B, st sessions.Store) *http.Cookie {
	for _, c := range newBenchCookies(b, st) {
		if c.Name == testCookie {
			return c
		}
	}
	b.Fatal("no session cookie set")
	return nil
}

// newBenchCookies creates a session holding a workspace ID and a CSRF token
// and returns every cookie its save set.
func newBenchCookies(b *testing.B, st sessions.Store) []*http.Cookie {
	r := benchRequest(nil)
	sess, err := st.Get(r, testCookie)
	if err != nil {
		b.Fatal(err)
	}
	sess.Values[workspaceKey] = "AAECAwQFBgcICQoLDA0ODw"
	sess.Values[csrfKey] = "q0mY3sV6a0Zf2nJ4Qx1kz6x9uVbR8fYt0cW3eLpN5sA"
	w := &discardWriter{h: http.Header{}}
	if err := st.Save(r, w, sess); err != nil {
		b.Fatal(err)
	}
	return (&http.Response{Header: w.h}).Cookies()
}

// benchGetSave is one request: the page takes the flashes the last action
// left and reads the workspace and token; the next action queues two.
func benchGetSave(st sessions.Store, cookie *http.Cookie) error {
	r := benchRequest(cookie)
	sess, err := st.Get(r, testCookie)
	if err != nil {
		return err
	}
	_ = sess.Flashes(flashPrefix + FlashInfo)
	_, _ = sess.Values[workspaceKey].(string), sess.Values[csrfKey].(string)
	sess.AddFlash("Uploaded photo.jpg (4032×3024 JPEG)", flashPrefix+FlashInfo)
	sess.AddFlash("Applied: rotate 90°", flashPrefix+FlashInfo)
	return st.Save(r, &discardWriter{h: http.Header{}}, sess)
}

// BenchmarkCachedView is a page view served from the replica's copy (the
// version cookie names it): what most requests cost once a session is
// warm. No backend is reached; the figure is the store's own CPU.
func BenchmarkCachedView(b *testing.B) {
	st, err := NewStore(NewMemory(), Options{
		Keys: [][]byte{testKey(1)}, IdleTTL: 30 * time.Minute, Lifetime: 24 * time.Hour,
		MaxBytes: 8 << 10, Secure: "never", CacheSize: 100,
	})
	if err != nil {
		b.Fatal(err)
	}
	cookies := newBenchCookies(b, st)
	b.ReportAllocs()
	for b.Loop() {
		r := benchRequest(nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		sess, err := st.New(r, testCookie)
		if err != nil || sess.IsNew || infoFor(r, testCookie).status != StatusHit {
			b.Fatalf("not a hit: %v", err)
		}
	}
}
