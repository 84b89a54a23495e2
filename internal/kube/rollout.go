package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RestartedAtAnnotation is the pod-template annotation `kubectl rollout
// restart` sets; changing it makes the Deployment replace every pod.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// RolloutRestart replaces every pod of the Deployment with a rolling update,
// as `kubectl rollout restart` does: it sets the pod-template annotation
// kubectl.kubernetes.io/restartedAt to the current time (RFC 3339). RBAC:
// get and patch deployments. A paused Deployment is an error, as in kubectl.
func (c *Client) RolloutRestart(ctx context.Context, ns, name string) error {
	d, err := c.getDeployment(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("restarting deployment %s/%s: %w", ns, name, err)
	}
	if d.Spec.Paused {
		return fmt.Errorf("restarting deployment %s/%s: it is paused (resume it first)", ns, name)
	}
	at := c.now().Format(time.RFC3339)
	patch := client.RawPatch(types.StrategicMergePatchType,
		fmt.Appendf(nil, `{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtAnnotation, at))
	if err := c.c.Patch(ctx, d, patch); err != nil {
		err = classify(err, call{verb: "patch", resource: "deployments", group: "apps", kind: "deployment", namespace: ns, name: name})
		return fmt.Errorf("restarting deployment %s/%s: %w", ns, name, err)
	}
	return nil
}

// WaitForRollout polls the Deployment until its rollout is complete: the
// controller has observed the latest generation, and updated, ready and
// available replicas all equal spec.replicas with no old replica left. It
// calls progress (when not nil) with a line each time that state changes.
//
// After timeout (none when timeout ≤ 0) it returns a TimeoutError naming what
// was still missing, e.g. "deployment default/easel: 2 of 3 replicas
// available after 2m0s (updated 3, ready 2)". A Deployment whose
// ProgressDeadlineExceeded condition is set fails at once. RBAC: get
// deployments.
func (c *Client) WaitForRollout(ctx context.Context, ns, name string, timeout time.Duration, progress func(string)) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var last rollout
	var lastLine string
	for {
		// Each read gets its own bound, so that the deadline is judged on
		// the last state read rather than cutting a request short.
		reqCtx, cancel := context.WithTimeout(ctx, max(requestTimeout, c.poll))
		d, err := c.getDeployment(reqCtx, ns, name)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("waiting for the rollout of deployment %s/%s: %w", ns, name, err)
		}
		last = rolloutOf(d)
		if last.done() {
			return nil
		}
		if err := last.failed(); err != nil {
			return fmt.Errorf("deployment %s/%s: %w", ns, name, err)
		}
		if line := last.progress(); line != lastLine {
			lastLine = line
			if progress != nil {
				progress(fmt.Sprintf("deployment %s/%s: %s", ns, name, line))
			}
		}
		wait := c.poll
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return &TimeoutError{Message: fmt.Sprintf("deployment %s/%s: %s", ns, name, last.missing(timeout))}
			}
			wait = min(wait, left)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for the rollout of deployment %s/%s: %w", ns, name, ctx.Err())
		case <-t.C:
		}
	}
}

// requestTimeout bounds one read of the Deployment while waiting.
const requestTimeout = 30 * time.Second

// rollout is the part of a Deployment's state a rollout waits on.
type rollout struct {
	generation, observed                     int64
	want, current, updated, ready, available int32
	deadlineExceeded                         string
}

// rolloutOf extracts the rollout state of d.
func rolloutOf(d *appsv1.Deployment) rollout {
	r := rollout{
		generation: d.Generation,
		observed:   d.Status.ObservedGeneration,
		want:       1,
		current:    d.Status.Replicas,
		updated:    d.Status.UpdatedReplicas,
		ready:      d.Status.ReadyReplicas,
		available:  d.Status.AvailableReplicas,
	}
	if d.Spec.Replicas != nil {
		r.want = *d.Spec.Replicas
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" {
			r.deadlineExceeded = cond.Message
		}
	}
	return r
}

// observedLatest reports whether the controller has seen the latest spec.
func (r rollout) observedLatest() bool { return r.observed >= r.generation }

// done reports whether the rollout is complete.
func (r rollout) done() bool {
	return r.observedLatest() && r.updated == r.want && r.ready == r.want &&
		r.available == r.want && r.current == r.updated
}

// failed returns an error when the controller gave up on the rollout.
func (r rollout) failed() error {
	if r.observedLatest() && r.deadlineExceeded != "" {
		return errors.New("rollout exceeded its progress deadline: " + r.deadlineExceeded)
	}
	return nil
}

// progress describes the state in one line.
func (r rollout) progress() string {
	if !r.observedLatest() {
		return fmt.Sprintf("waiting for the controller to observe generation %d (observed %d)", r.generation, r.observed)
	}
	s := fmt.Sprintf("%d of %d updated, %d ready, %d available", r.updated, r.want, r.ready, r.available)
	if old := r.current - r.updated; old > 0 {
		s += fmt.Sprintf(", %d old pending termination", old)
	}
	return s
}

// missing says what the rollout still lacked after waiting for after.
func (r rollout) missing(after time.Duration) string {
	switch {
	case !r.observedLatest():
		return fmt.Sprintf("generation %d not observed by the deployment controller after %s (observed %d)", r.generation, after, r.observed)
	}
	s := fmt.Sprintf("%d of %d replicas available after %s (updated %d, ready %d", r.available, r.want, after, r.updated, r.ready)
	if old := r.current - r.updated; old > 0 {
		s += fmt.Sprintf(", %d old replicas pending termination", old)
	}
	return s + ")"
}
