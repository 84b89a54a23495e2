package session

import (
	"testing"

	"github.com/gin-contrib/sessions"
	gsessions "github.com/gorilla/sessions"
)

// fakeSession is a sessions.Session over a gorilla session, recording
// whether it was marked for saving (as gin-contrib's does).
type fakeSession struct {
	s       *gsessions.Session
	written bool
}

func newFakeSession() *fakeSession {
	return &fakeSession{s: gsessions.NewSession(nil, testCookie)}
}

func (f *fakeSession) ID() string                     { return f.s.ID }
func (f *fakeSession) Get(k any) any                  { return f.s.Values[k] }
func (f *fakeSession) Set(k, v any)                   { f.s.Values[k], f.written = v, true }
func (f *fakeSession) Delete(k any)                   { delete(f.s.Values, k); f.written = true }
func (f *fakeSession) Clear()                         { clear(f.s.Values); f.written = true }
func (f *fakeSession) AddFlash(v any, vars ...string) { f.s.AddFlash(v, vars...); f.written = true }
func (f *fakeSession) Flashes(vars ...string) []any   { f.written = true; return f.s.Flashes(vars...) }
func (f *fakeSession) Options(sessions.Options)       { f.written = true }
func (f *fakeSession) Save() error                    { f.written = false; return nil }

func TestCSRFToken(t *testing.T) {
	t.Parallel()
	s := newFakeSession()
	if ValidCSRF(s, "") || ValidCSRF(s, "anything") {
		t.Fatal("a session without a token accepted one")
	}
	tok, err := CSRFToken(s)
	if err != nil || len(tok) < 43 || !s.written {
		t.Fatalf("CSRFToken = %q, %v (marked for saving: %v)", tok, err, s.written)
	}
	s.written = false
	again, err := CSRFToken(s)
	if err != nil || again != tok || s.written {
		t.Fatalf("second CSRFToken = %q, %v (rewritten: %v); want the same token, no save", again, err, s.written)
	}
	other, _ := CSRFToken(newFakeSession())
	tests := []struct {
		name  string
		token string
		want  bool
	}{
		{"same token", tok, true},
		{"empty", "", false},
		{"another session's token", other, false},
		{"prefix", tok[:len(tok)-1], false},
		{"longer", tok + "A", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidCSRF(s, tc.token); got != tc.want {
				t.Fatalf("ValidCSRF(%q) = %v, want %v", tc.token, got, tc.want)
			}
		})
	}
}

func TestWorkspaceID(t *testing.T) {
	t.Parallel()
	s := newFakeSession()
	if id := WorkspaceID(s); id != "" {
		t.Fatalf("WorkspaceID of an empty session = %q", id)
	}
	fresh, err := WorkspaceIDOrNew(s)
	if err != nil || fresh == "" {
		t.Fatalf("WorkspaceIDOrNew = %q, %v", fresh, err)
	}
	if WorkspaceID(s) != "" {
		t.Fatal("WorkspaceIDOrNew stored the id before the workspace exists")
	}
	SetWorkspaceID(s, fresh)
	if got, _ := WorkspaceIDOrNew(s); got != fresh || WorkspaceID(s) != fresh {
		t.Fatalf("after SetWorkspaceID got %q, want %q", got, fresh)
	}
	SetWorkspaceID(s, "not-a-workspace-id")
	if got, _ := WorkspaceIDOrNew(s); got == "not-a-workspace-id" {
		t.Fatal("WorkspaceIDOrNew kept an invalid id")
	}
}
