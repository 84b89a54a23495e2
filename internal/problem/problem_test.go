package problem

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// busy is a Refusal as the packages that refuse work define them.
type busy struct{ after time.Duration }

func (b busy) Error() string             { return "the service is busy; retry shortly" }
func (b busy) HTTPStatus() int           { return http.StatusServiceUnavailable }
func (b busy) RetryAfter() time.Duration { return b.after }

func TestWriteRefusal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		status int
		retry  string
	}{
		{"own hint rounded up", fmt.Errorf("rendering: %w", busy{1500 * time.Millisecond}), 503, "2"},
		{"whole seconds", busy{7 * time.Second}, 503, "7"},
		{"no hint on a 503 gets the default", busy{}, 503, RetryAfter},
		{"plain error", New(http.StatusBadRequest, "bad"), 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			Write(c, tc.err)
			if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retry {
				t.Fatalf("got %d Retry-After %q, want %d %q", w.Code, w.Header().Get("Retry-After"), tc.status, tc.retry)
			}
			if got := From(tc.err).Refused(); got != (tc.status == 503) {
				t.Errorf("Refused() = %v", got)
			}
		})
	}
}
