package kube

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestRolloutState(t *testing.T) {
	t.Parallel()
	dep := func(replicas *int32, gen, observed int64, current, updated, ready, available int32) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		d.Generation, d.Spec.Replicas = gen, replicas
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: current,
			UpdatedReplicas: updated, ReadyReplicas: ready, AvailableReplicas: available}
		return d
	}
	tests := []struct {
		name     string
		d        *appsv1.Deployment
		done     bool
		progress string
		missing  string
	}{
		{"complete", dep(ptr.To[int32](3), 2, 2, 3, 3, 3, 3), true,
			"3 of 3 updated, 3 ready, 3 available", "3 of 3 replicas available after 1m0s (updated 3, ready 3)"},
		{"nil replicas means one", dep(nil, 1, 1, 1, 1, 1, 1), true, "1 of 1 updated, 1 ready, 1 available", ""},
		{"scaled to zero", dep(ptr.To[int32](0), 4, 4, 0, 0, 0, 0), true, "0 of 0 updated, 0 ready, 0 available", ""},
		{"not observed", dep(ptr.To[int32](3), 3, 2, 3, 3, 3, 3), false,
			"waiting for the controller to observe generation 3 (observed 2)",
			"generation 3 not observed by the deployment controller after 1m0s (observed 2)"},
		{"not ready", dep(ptr.To[int32](3), 1, 1, 3, 3, 2, 2), false,
			"3 of 3 updated, 2 ready, 2 available", "2 of 3 replicas available after 1m0s (updated 3, ready 2)"},
		{"old pods left", dep(ptr.To[int32](3), 1, 1, 5, 3, 3, 3), false,
			"3 of 3 updated, 3 ready, 3 available, 2 old pending termination",
			"3 of 3 replicas available after 1m0s (updated 3, ready 3, 2 old replicas pending termination)"},
		{"scaling down", dep(ptr.To[int32](2), 5, 5, 5, 5, 5, 5), false,
			"5 of 2 updated, 5 ready, 5 available", "5 of 2 replicas available after 1m0s (updated 5, ready 5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rolloutOf(tt.d)
			if r.done() != tt.done {
				t.Errorf("done = %v, want %v", r.done(), tt.done)
			}
			if got := r.progress(); got != tt.progress {
				t.Errorf("progress = %q, want %q", got, tt.progress)
			}
			if got := r.missing(time.Minute); tt.missing != "" && got != tt.missing {
				t.Errorf("missing = %q, want %q", got, tt.missing)
			}
		})
	}
}

func TestRolloutProgressDeadline(t *testing.T) {
	t.Parallel()
	d := &appsv1.Deployment{}
	d.Spec.Replicas = ptr.To[int32](2)
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing,
		Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "easel-1" has timed out progressing.`}}
	if err := rolloutOf(d).failed(); err == nil {
		t.Error("failed() = nil for a deployment past its progress deadline")
	}
}
