package compose

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCommitRefusesAReplacedImage: a composite job that runs after the
// user uploaded another image into the workspace (a job re-run after its
// lease lapsed ends that late) fails instead of laying a composite of the
// old image over the new one.
func TestCommitRefusesAReplacedImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rp := newReplica(t, "a", memoryStores(), nil, RunnerConfig{})
	wsID := rp.upload(t, disc(80, 60, 20))
	req, err := ParseRequest([]byte(`{"mode":"replace-background","background":{"color":"#2255ff"}}`))
	if err != nil {
		t.Fatal(err)
	}
	j, err := rp.svc.Submit(ctx, wsID, req)
	if err != nil {
		t.Fatal(err)
	}
	// Another image of the same size, uploaded before the job runs.
	if _, err := rp.ws.Upload(ctx, wsID, pngBytes(t, fill(80, 60, red))); err != nil {
		t.Fatal(err)
	}
	rp.svc.Start(ctx)
	t.Cleanup(func() { _ = rp.svc.Stop(context.Background()) })
	done := await(t, rp.svc.Get, j.ID, 10*time.Second)
	if done.Status != StatusFailed || !strings.Contains(done.Error, "Another image was uploaded") {
		t.Fatalf("job = %s %q, want failed because the image was replaced", done.Status, done.Error)
	}
	if _, st := rp.current(t, wsID); len(st.Applied()) != 0 {
		t.Fatalf("edits %v on the new image, want none", st.Applied())
	}
}
