package kube

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ChaosKind is what a chaos action does.
type ChaosKind string

// The chaos actions.
const (
	// ChaosKillPod deletes one random ready pod of the Deployment.
	ChaosKillPod ChaosKind = "kill-pod"
	// ChaosRestart restarts the Deployment's rollout.
	ChaosRestart ChaosKind = "restart"
	// ChaosScale scales the Deployment to the next count of a cycle.
	ChaosScale ChaosKind = "scale"
)

// ChaosSpec is a parsed --chaos value.
type ChaosSpec struct {
	Kind ChaosKind
	// Replicas is the cycle of replica counts for ChaosScale: each action
	// scales to the next one, starting over after the last.
	Replicas []int32
}

// maxChaosReplicas bounds a scale target, so that a typo cannot ask for a
// thousand pods.
const maxChaosReplicas = 100

// ParseChaos parses "kill-pod", "restart" or "scale=N:M:…". A scale spec
// lists the replica counts to cycle through: "scale=1:5:2" scales to 1, then
// 5, then 2, then 1 again, and so on.
func ParseChaos(s string) (ChaosSpec, error) {
	s = strings.TrimSpace(s)
	kind, arg, hasArg := strings.Cut(s, "=")
	switch ChaosKind(kind) {
	case ChaosKillPod, ChaosRestart:
		if hasArg {
			return ChaosSpec{}, fmt.Errorf("chaos %q: %s takes no argument", s, kind)
		}
		return ChaosSpec{Kind: ChaosKind(kind)}, nil
	case ChaosScale:
		if !hasArg || arg == "" {
			return ChaosSpec{}, fmt.Errorf("chaos %q: want scale=N:M:…, e.g. scale=1:5:2", s)
		}
		var counts []int32
		for _, part := range strings.Split(arg, ":") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || n < 0 || n > maxChaosReplicas {
				return ChaosSpec{}, fmt.Errorf("chaos %q: replica count %q must be a whole number from 0 to %d", s, part, maxChaosReplicas)
			}
			counts = append(counts, int32(n))
		}
		return ChaosSpec{Kind: ChaosScale, Replicas: counts}, nil
	}
	return ChaosSpec{}, fmt.Errorf("chaos %q: want kill-pod, restart or scale=N:M:…", s)
}

// String returns the spec in the form ParseChaos reads.
func (s ChaosSpec) String() string {
	if s.Kind != ChaosScale {
		return string(s.Kind)
	}
	parts := make([]string, len(s.Replicas))
	for i, n := range s.Replicas {
		parts[i] = strconv.Itoa(int(n))
	}
	return "scale=" + strings.Join(parts, ":")
}

// Event is one chaos action that was performed, or attempted.
type Event struct {
	// Time is when the action was sent to the API server.
	Time time.Time
	Kind ChaosKind
	// Detail says what happened, e.g. "deleted pod easel-7d9f-abcde" or
	// "scaled 3→5".
	Detail string
	// Err is why the action failed; nil when it succeeded.
	Err error
}

// String returns a one-line label, e.g. "kill-pod: deleted pod easel-x", as
// the probe's report marks it.
func (e Event) String() string {
	if e.Err != nil {
		return fmt.Sprintf("%s failed: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Detail)
}

// Deployments is what Chaos needs from a cluster; *Client implements it.
type Deployments interface {
	// Replicas returns spec.replicas of the Deployment.
	Replicas(ctx context.Context, ns, name string) (int32, error)
	// Scale sets spec.replicas of the Deployment.
	Scale(ctx context.Context, ns, name string, replicas int32) error
	// DeletePod deletes a pod of the Deployment (a random ready one when
	// podName is empty) and returns its name.
	DeletePod(ctx context.Context, ns, deployment, podName string) (string, error)
	// RolloutRestart replaces every pod of the Deployment.
	RolloutRestart(ctx context.Context, ns, name string) error
}

// Chaos performs one kind of chaos action on one Deployment. Create it with
// NewChaos. Step and Run must not be called concurrently.
type Chaos struct {
	spec      ChaosSpec
	target    Deployments
	namespace string
	name      string
	now       func() time.Time
	next      int // index of the next scale target
}

// NewChaos returns a Chaos that performs spec on the Deployment ns/name
// through target.
func NewChaos(target Deployments, ns, name string, spec ChaosSpec) *Chaos {
	return &Chaos{spec: spec, target: target, namespace: ns, name: name, now: time.Now}
}

// Step performs the action once and returns its event. When the action
// fails, the event carries the error, which Step also returns.
func (c *Chaos) Step(ctx context.Context) (Event, error) {
	ev := Event{Time: c.now(), Kind: c.spec.Kind}
	switch c.spec.Kind {
	case ChaosKillPod:
		pod, err := c.target.DeletePod(ctx, c.namespace, c.name, "")
		ev.Detail, ev.Err = "deleted pod "+pod, err
	case ChaosRestart:
		ev.Detail, ev.Err = "rollout restart of "+c.namespace+"/"+c.name, c.target.RolloutRestart(ctx, c.namespace, c.name)
	case ChaosScale:
		if len(c.spec.Replicas) == 0 {
			ev.Err = errors.New("scale chaos without replica counts")
			break
		}
		to := c.spec.Replicas[c.next%len(c.spec.Replicas)]
		c.next++
		from, err := c.target.Replicas(ctx, c.namespace, c.name)
		if err == nil {
			err = c.target.Scale(ctx, c.namespace, c.name, to)
		}
		ev.Detail, ev.Err = fmt.Sprintf("scaled %d→%d", from, to), err
	default:
		ev.Err = fmt.Errorf("unknown chaos kind %q", c.spec.Kind)
	}
	return ev, ev.Err
}

// Run performs the action every interval, the first one interval after it
// starts, and sends each event on events, until ctx ends; it then returns
// nil. It closes events when it returns. An action that fails is reported in
// its event and Run goes on, except when the Deployment is gone or RBAC
// forbids the action: then Run returns that error.
func (c *Chaos) Run(ctx context.Context, every time.Duration, events chan<- Event) error {
	defer close(events)
	if every <= 0 {
		return fmt.Errorf("chaos interval must be positive, got %s", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		ev, err := c.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		select {
		case events <- ev:
		case <-ctx.Done():
			return nil
		}
		if err != nil && fatal(err) {
			return fmt.Errorf("chaos %s on deployment %s/%s: %w", c.spec, c.namespace, c.name, err)
		}
	}
}
