package problem

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/quota"
	"github.com/easelhq/easel/internal/store"
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
		{"over an upload budget", fmt.Errorf("admitting: %w", &quota.Exceeded{Reason: quota.ReasonUploads, What: "30 uploads a minute", Retry: 2 * time.Second}), 429, "2"},
		{"store past its mark", &store.Full{Op: "upload"}, 507, "60"},
		{"redis OOM at maxmemory", store.Unavailable("storing blob", errors.New("OOM command not allowed when used memory > 'maxmemory'.")), 507, "60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			Write(c, tc.err)
			if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retry {
				t.Fatalf("got %d Retry-After %q, want %d %q", w.Code, w.Header().Get("Retry-After"), tc.status, tc.retry)
			}
			if got := From(tc.err).Refused(); got != (tc.status != 400) {
				t.Errorf("Refused() = %v", got)
			}
		})
	}
}
