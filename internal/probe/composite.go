package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// compositeDeadline bounds how long a flow waits for its composite job.
const compositeDeadline = 60 * time.Second

// jobDoc is what GET /api/v1/jobs/{id} answers.
type jobDoc struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
	Result *struct {
		Digest string `json:"digest"`
	} `json:"result"`
}

// composite submits a built-in background replacement, polls the job until
// it ends (each poll may reach another replica) and checks that the result
// became the workspace's last edit.
func (u *user) composite(ctx context.Context, st *flowState) *failure {
	body := []byte(`{"mode":"replace-background","background":{"color":"#2255ff"}}`)
	res := u.do(ctx, "composite", func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.base.JoinPath("/api/v1/workspace/composite").String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(headerCSRF, st.csrf)
		return req, nil
	})
	if f := u.check(st, "POST /api/v1/workspace/composite", res, http.StatusAccepted); f != nil {
		return f
	}
	var job jobDoc
	if err := json.Unmarshal(res.body, &job); err != nil || job.ID == "" {
		return fail(KindContract, "POST /api/v1/workspace/composite: no job in %q", snippet(res.body))
	}
	deadline := time.Now().Add(compositeDeadline)
	for job.Status != "succeeded" {
		switch {
		case job.Status == "failed":
			return fail(KindComposite, "composite job %s failed: %s", job.ID, job.Error)
		case time.Now().After(deadline):
			return fail(KindComposite, "composite job %s still %s after %v", job.ID, job.Status, compositeDeadline)
		}
		select {
		case <-ctx.Done():
			return fail(KindComposite, "composite job %s: %v", job.ID, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		res = u.get(ctx, "job", "/api/v1/jobs/"+job.ID, "application/json")
		if f := u.check(st, "GET /api/v1/jobs/"+job.ID, res, http.StatusOK); f != nil {
			return f
		}
		if err := json.Unmarshal(res.body, &job); err != nil {
			return fail(KindContract, "GET /api/v1/jobs/%s: decoding: %v", job.ID, err)
		}
	}
	ws, f := u.workspace(ctx, "verify", st)
	if f != nil {
		return f
	}
	var last map[string]any
	if n := len(ws.Edits); n > 0 {
		last, _ = ws.Edits[n-1].(map[string]any)
	}
	if last == nil || last["op"] != "composite" || job.Result == nil || last["result"] != job.Result.Digest {
		return fail(KindComposite, "after composite job %s the last edit is not its result", job.ID)
	}
	return nil
}
