package session

import (
	"crypto/subtle"
	"fmt"

	"github.com/easelhq/easel/internal/randid"
	"github.com/gin-contrib/sessions"
)

// csrfKey is where a session keeps its CSRF token.
const csrfKey = "csrf"

// CSRFToken returns the session's CSRF token, creating one (and marking the
// session for saving) the first time.
func CSRFToken(s sessions.Session) (string, error) {
	if t, ok := s.Get(csrfKey).(string); ok && t != "" {
		return t, nil
	}
	t, err := randid.New(32)
	if err != nil {
		return "", fmt.Errorf("generating csrf token: %w", err)
	}
	s.Set(csrfKey, t)
	return t, nil
}

// ValidCSRF reports whether token matches the session's token, in constant
// time. A session without a token accepts nothing.
func ValidCSRF(s sessions.Session, token string) bool {
	want, ok := s.Get(csrfKey).(string)
	if !ok || want == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}
