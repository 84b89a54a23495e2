package session

import (
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/tester"
)

// TestGinContribSuite runs gin-contrib/sessions' own store tests against the
// Store on both backends. They install the Store with sessions.Sessions (no
// Middleware), so Store.Get must work on its own too.
// factory is tester's (unexported) store factory type.
type factory = func(*testing.T) sessions.Store

func TestGinContribSuite(t *testing.T) {
	t.Parallel()
	suite := []struct {
		name string
		run  func(*testing.T, factory)
	}{
		{"GetSet", func(t *testing.T, f factory) { tester.GetSet(t, f) }},
		{"DeleteKey", func(t *testing.T, f factory) { tester.DeleteKey(t, f) }},
		{"Flashes", func(t *testing.T, f factory) { tester.Flashes(t, f) }},
		{"Clear", func(t *testing.T, f factory) { tester.Clear(t, f) }},
		{"Options", func(t *testing.T, f factory) { tester.Options(t, f) }},
		{"Many", func(t *testing.T, f factory) { tester.Many(t, f) }},
	}
	for _, kind := range backendKinds(t) {
		for _, tc := range suite {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, func(t *testing.T) sessions.Store {
					st, err := NewStore(kind.newBackend(t, testutil.NewClock()), Options{
						Keys: [][]byte{testKey(1)}, IdleTTL: time.Hour, Lifetime: 24 * time.Hour, MaxBytes: 4 << 10,
					})
					if err != nil {
						t.Fatalf("NewStore: %v", err)
					}
					return st
				})
			})
		}
	}
}
