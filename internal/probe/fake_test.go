package probe

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeSession is the state a fake replica keeps per session.
type fakeSession struct {
	csrf          string
	digest        string
	width, height int
	edits         []map[string]any
}

// fakeCluster imitates easel's HTTP contract: replicas behind a round-robin
// balancer, each with its own sessions unless shared is set.
type fakeCluster struct {
	replicas int
	shared   bool
	// proxyErrors makes the "balancer" answer this many POSTs with 502 and
	// no X-Served-By before passing requests on.
	proxyErrors atomic.Int64
	// busy makes a replica answer this many POSTs with 503 and Retry-After
	// (a full memory budget), and limited this many with 429, nothing done.
	busy, limited atomic.Int64
	retryAfter    string
	// host, when set, is the only Host the "ingress" routes; others get 404.
	host string
	// perConnection makes the "balancer" pick a replica per TCP connection,
	// as kube-proxy does for a Service, instead of per request.
	perConnection bool

	conns    map[string]int // remote address -> replica, when perConnection
	next     atomic.Int64
	mu       sync.Mutex
	sessions []map[string]*fakeSession
}

func newFakeCluster(t *testing.T, replicas int, shared bool) (*fakeCluster, *httptest.Server) {
	t.Helper()
	fc := &fakeCluster{replicas: replicas, shared: shared}
	for i := 0; i < replicas; i++ {
		fc.sessions = append(fc.sessions, map[string]*fakeSession{})
	}
	srv := httptest.NewServer(fc)
	t.Cleanup(srv.Close)
	return fc, srv
}

var fakePage = template.Must(template.New("p").Parse(`<!doctype html><html><head><meta name="csrf-token" content="{{.CSRF}}"></head><body>
{{if .Upload}}<form method="post" action="/image" enctype="multipart/form-data"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="file" name="image"></form>{{end}}
{{if .Digest}}<img alt="x" data-digest="{{.Digest}}" id="image" src="/blobs/{{.Digest}}">{{else if not .Upload}}<p id="no-image">No image in this session.</p>{{end}}
<footer id="replica" data-served-by="{{.Name}}" data-session="{{.State}}">served by {{.Name}}</footer></body></html>`))

// pick chooses the replica for a request from remote: round robin per
// request, or per connection when perConnection is set.
func (fc *fakeCluster) pick(remote string) int {
	if !fc.perConnection {
		return int(fc.next.Add(1)-1) % fc.replicas
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	idx, ok := fc.conns[remote]
	if !ok {
		idx = int(fc.next.Add(1)-1) % fc.replicas
		if fc.conns == nil {
			fc.conns = map[string]int{}
		}
		fc.conns[remote] = idx
	}
	return idx
}

func (fc *fakeCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if fc.host != "" && r.Host != fc.host {
		http.Error(w, "default backend - 404", http.StatusNotFound)
		return
	}
	if r.Method == http.MethodPost && fc.proxyErrors.Add(-1) >= 0 {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	idx := fc.pick(r.RemoteAddr)
	name := fmt.Sprintf("replica-%d", idx)
	store := idx
	if fc.shared {
		store = 0
	}
	w.Header().Set(headerServedBy, name)
	if r.Method == http.MethodPost {
		for _, b := range []struct {
			n      *atomic.Int64
			status int
		}{{&fc.busy, http.StatusServiceUnavailable}, {&fc.limited, http.StatusTooManyRequests}} {
			if b.n.Add(-1) >= 0 {
				w.Header().Set(headerSession, sessionHit)
				w.Header().Set("Retry-After", fc.retryAfter)
				http.Error(w, "busy, retry", b.status)
				return
			}
		}
	}

	fc.mu.Lock()
	defer fc.mu.Unlock()
	sessions := fc.sessions[store]
	state := sessionNew
	var s *fakeSession
	if c, err := r.Cookie("easel_session"); err == nil {
		if s = sessions[c.Value]; s != nil {
			state = sessionHit
		} else {
			state = sessionMiss
		}
	}
	if s == nil {
		id, tok := rand.Text(), rand.Text()
		s = &fakeSession{csrf: tok}
		sessions[id] = s
		http.SetCookie(w, &http.Cookie{Name: "easel_session", Value: id, Path: "/", HttpOnly: true})
	}
	w.Header().Set(headerSession, state)

	writeJSON := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	workspace := func() map[string]any {
		var img any
		if s.digest != "" {
			img = map[string]any{"digest": s.digest, "width": s.width, "height": s.height, "format": "png"}
		}
		cw, ch := s.width, s.height
		for _, e := range s.edits {
			if e["op"] == "rotate" {
				cw, ch = ch, cw
			}
		}
		return map[string]any{"csrf_token": s.csrf, "image": img, "edits": s.edits, "cursor": len(s.edits),
			"current": map[string]int{"width": cw, "height": ch}}
	}
	store1 := func(f io.Reader) bool {
		data, err := io.ReadAll(f)
		if err != nil {
			return false
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return false
		}
		sum := sha256.Sum256(data)
		s.digest, s.width, s.height, s.edits = hex.EncodeToString(sum[:]), cfg.Width, cfg.Height, nil
		return true
	}

	switch r.Method + " " + r.URL.Path {
	case "GET /", "GET /image":
		_ = fakePage.Execute(w, map[string]any{"CSRF": s.csrf, "Upload": r.URL.Path == "/", "Digest": s.digest, "Name": name, "State": state})
	case "POST /image":
		f, _, err := r.FormFile("image")
		if err != nil || r.FormValue("csrf_token") != s.csrf || !store1(f) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.Redirect(w, r, "/image", http.StatusSeeOther)
	case "GET /api/v1/workspace":
		writeJSON(http.StatusOK, workspace())
	case "POST /api/v1/image":
		f, _, err := r.FormFile("image")
		if err != nil || state != sessionNew && r.Header.Get(headerCSRF) != s.csrf || !store1(f) {
			writeJSON(http.StatusForbidden, map[string]string{"title": "forbidden"})
			return
		}
		writeJSON(http.StatusCreated, workspace()["image"])
	case "POST /api/v1/workspace/edits":
		var e map[string]any
		if r.Header.Get(headerCSRF) != s.csrf || json.NewDecoder(r.Body).Decode(&e) != nil || s.digest == "" {
			writeJSON(http.StatusForbidden, map[string]string{"title": "forbidden"})
			return
		}
		s.edits = append(s.edits, e)
		writeJSON(http.StatusOK, workspace())
	case "GET /api/v1/workspace/render":
		ws := workspace()["current"].(map[string]int)
		w.Header().Set("Content-Type", "image/png")
		_ = png.Encode(w, image.NewGray(image.Rect(0, 0, ws["width"], ws["height"])))
	default:
		http.NotFound(w, r)
	}
}
