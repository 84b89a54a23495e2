package session

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkStoreGetSave measures what every request pays for its session:
// Store.Get (cookie check, backend load, decode) and Store.Save (encode,
// backend update) of a realistic session holding a workspace ID, a CSRF
// token and two flash messages. Parallel runs give every goroutine its own
// session, like many users at once.
//
//	go test -run '^$' -bench StoreGetSave -count 10 ./internal/session/ | benchstat -
func BenchmarkStoreGetSave(b *testing.B) {
	client := startRedisClient(b)
	backends := []struct {
		name    string
		backend Backend
	}{
		{"memory", NewMemory()},
		{"redis", NewRedis(client, "bench")},
	}
	for _, bk := range backends {
		st, err := NewStore(bk.backend, Options{
			Keys: [][]byte{testKey(1), testKey(2)}, IdleTTL: 30 * time.Minute, Lifetime: 24 * time.Hour,
			MaxBytes: 8 << 10, Secure: "never",
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bk.name+"/seq", func(b *testing.B) {
			cookie := newBenchSession(b, st)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := benchGetSave(st, cookie); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, goroutines := range []int{16, 64} {
			b.Run(bk.name+"/par"+strconv.Itoa(goroutines), func(b *testing.B) {
				b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					cookie := newBenchSession(b, st)
					for pb.Next() {
						if err := benchGetSave(st, cookie); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
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
	return r.WithContext(context.WithValue(r.Context(), infoKey{}, &requestInfo{}))
}

// newBenchSession creates a session holding a workspace ID and a CSRF token
// and returns its cookie.
func newBenchSession(b *testing.B, st *Store) *http.Cookie {
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
	res := http.Response{Header: w.h}
	for _, c := range res.Cookies() {
		if c.Name == testCookie {
			return c
		}
	}
	b.Fatal("no session cookie set")
	return nil
}

// benchGetSave is one request: the page takes the flashes the last action
// left and reads the workspace and token; the next action queues two.
func benchGetSave(st *Store, cookie *http.Cookie) error {
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
