package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestParseChaos(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ChaosSpec
		wantErr string
	}{
		{in: "kill-pod", want: ChaosSpec{Kind: ChaosKillPod}},
		{in: " restart ", want: ChaosSpec{Kind: ChaosRestart}},
		{in: "scale=1:5:2", want: ChaosSpec{Kind: ChaosScale, Replicas: []int32{1, 5, 2}}},
		{in: "scale=3", want: ChaosSpec{Kind: ChaosScale, Replicas: []int32{3}}},
		{in: "scale=0:2", want: ChaosSpec{Kind: ChaosScale, Replicas: []int32{0, 2}}},
		{in: "scale", wantErr: "want scale=N:M"},
		{in: "scale=", wantErr: "want scale=N:M"},
		{in: "scale=1:x", wantErr: `replica count "x"`},
		{in: "scale=1:-2", wantErr: `replica count "-2"`},
		{in: "scale=1:1000", wantErr: `replica count "1000"`},
		{in: "scale=1::2", wantErr: `replica count ""`},
		{in: "kill-pod=2", wantErr: "takes no argument"},
		{in: "explode", wantErr: "want kill-pod, restart or scale"},
		{in: "", wantErr: "want kill-pod, restart or scale"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseChaos(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseChaos(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseChaos(%q): %v", tt.in, err)
			}
			if got.Kind != tt.want.Kind || !slices.Equal(got.Replicas, tt.want.Replicas) {
				t.Errorf("ParseChaos(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if again, err := ParseChaos(got.String()); err != nil || again.String() != got.String() {
				t.Errorf("String() = %q does not parse back: %v", got.String(), err)
			}
		})
	}
}

// fakeDeployments records chaos calls; err, when set, is returned by every
// call.
type fakeDeployments struct {
	mu       sync.Mutex
	replicas int32
	calls    []string
	err      error
}

func (f *fakeDeployments) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}

func (f *fakeDeployments) Replicas(_ context.Context, _, _ string) (int32, error) {
	return f.replicas, f.record("replicas")
}

func (f *fakeDeployments) Scale(_ context.Context, _, _ string, n int32) error {
	f.replicas = n
	return f.record(fmt.Sprintf("scale %d", n))
}

func (f *fakeDeployments) DeletePod(_ context.Context, _, _, _ string) (string, error) {
	return "easel-1", f.record("delete")
}

func (f *fakeDeployments) RolloutRestart(_ context.Context, _, _ string) error {
	return f.record("restart")
}

func TestChaosScaleCycles(t *testing.T) {
	t.Parallel()
	f := &fakeDeployments{replicas: 3}
	c := NewChaos(f, "default", "easel", ChaosSpec{Kind: ChaosScale, Replicas: []int32{5, 2}})
	var details []string
	for range 3 {
		ev, err := c.Step(context.Background())
		if err != nil {
			t.Fatalf("Step: %v", err)
		}
		details = append(details, ev.Detail)
	}
	if want := []string{"scaled 3→5", "scaled 5→2", "scaled 2→5"}; !slices.Equal(details, want) {
		t.Errorf("details = %q, want %q", details, want)
	}
}

func TestChaosRun(t *testing.T) {
	t.Parallel()
	notFound := &NotFoundError{Kind: "deployment", Namespace: "default", Name: "easel"}
	podGone := fmt.Errorf("deleting a pod: %w", &NotFoundError{Kind: "pod", Namespace: "default", Name: "easel-1"})
	tests := []struct {
		name      string
		err       error
		wantErr   error // Run's error
		minEvents int
	}{
		{name: "runs until the context ends", minEvents: 3},
		{name: "goes on when no pod is ready", err: ErrNoReadyPod, minEvents: 3},
		{name: "goes on when the pod vanished", err: podGone, minEvents: 3},
		{name: "stops when the deployment is gone", err: notFound, wantErr: ErrNotFound, minEvents: 1},
		{name: "stops when forbidden", err: &ForbiddenError{Verb: "delete", Resource: "pods"}, wantErr: ErrForbidden, minEvents: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeDeployments{err: tt.err}
			c := NewChaos(f, "default", "easel", ChaosSpec{Kind: ChaosKillPod})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			events := make(chan Event)
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx, 10*time.Millisecond, events) }()
			var got []Event
			for ev := range events { // Run closes events when it returns
				got = append(got, ev)
				if len(got) == tt.minEvents && tt.wantErr == nil {
					cancel()
				}
			}
			err := <-done
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Run = %v, want %v", err, tt.wantErr)
			}
			if len(got) < tt.minEvents {
				t.Fatalf("got %d events, want at least %d", len(got), tt.minEvents)
			}
			ev := got[0]
			if ev.Kind != ChaosKillPod || ev.Time.IsZero() || !errors.Is(ev.Err, tt.err) {
				t.Errorf("event = %+v, want kill-pod with error %v", ev, tt.err)
			}
			if tt.err == nil && ev.String() != "kill-pod: deleted pod easel-1" {
				t.Errorf("event label = %q", ev.String())
			}
		})
	}
	if err := NewChaos(&fakeDeployments{}, "d", "e", ChaosSpec{Kind: ChaosRestart}).Run(context.Background(), 0, make(chan Event)); err == nil {
		t.Error("Run with a zero interval succeeded")
	}
}

// TestChaosStepAgainstAPIServer runs one iteration of each kind against the
// real API server.
func TestChaosStepAgainstAPIServer(t *testing.T) {
	t.Parallel()
	kc := testClient(t)
	ctx := context.Background()
	tests := []struct {
		spec  string
		check func(t *testing.T, ns string, ev Event)
	}{
		{"kill-pod", func(t *testing.T, ns string, ev Event) {
			if left := podNames(t, ns); len(left) != 2 || slices.Contains(left, strings.TrimPrefix(ev.Detail, "deleted pod ")) {
				t.Errorf("pods left = %q after %q, want 2 without the deleted one", left, ev.Detail)
			}
		}},
		{"restart", func(t *testing.T, ns string, _ Event) {
			if d := getDeployment(t, ns); d.Spec.Template.Annotations[RestartedAtAnnotation] == "" {
				t.Errorf("no %s annotation after restart", RestartedAtAnnotation)
			}
		}},
		{"scale=5:2", func(t *testing.T, ns string, ev Event) {
			if d := getDeployment(t, ns); *d.Spec.Replicas != 5 || ev.Detail != "scaled 3→5" {
				t.Errorf("replicas = %d, detail %q; want 5, %q", *d.Spec.Replicas, ev.Detail, "scaled 3→5")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			createDeployment(t, ns, "easel", 3)
			createPod(t, ns, "easel-1", map[string]string{"app": "easel"}, true)
			createPod(t, ns, "easel-2", map[string]string{"app": "easel"}, true)
			createPod(t, ns, "other", map[string]string{"app": "other"}, true)
			spec, err := ParseChaos(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := NewChaos(kc, ns, "easel", spec).Step(ctx)
			if err != nil {
				t.Fatalf("Step: %v", err)
			}
			tt.check(t, ns, ev)
		})
	}
}

// getDeployment reads the Deployment easel in ns.
func getDeployment(t *testing.T, ns string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := env(t).Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "easel"}, d); err != nil {
		t.Fatalf("reading deployment: %v", err)
	}
	return d
}
