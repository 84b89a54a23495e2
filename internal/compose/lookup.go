package compose

import (
	"context"
	"net/http"

	"github.com/easelhq/easel/internal/problem"
)

// ErrNoSuchJob is the answer to a job that does not exist, has expired, or
// belongs to another session's workspace (indistinguishable on purpose).
var ErrNoSuchJob = problem.New(http.StatusNotFound, "there is no such composite job in this session (it may have expired)")

// Find returns job id if it belongs to workspace wsID.
func (s *Service) Find(ctx context.Context, wsID, id string) (Job, error) {
	if wsID == "" || !ValidJobID(id) {
		return Job{}, ErrNoSuchJob
	}
	j, found, err := s.Get(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if !found || j.Workspace != wsID {
		return Job{}, ErrNoSuchJob
	}
	return j, nil
}
