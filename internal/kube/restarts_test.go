package kube

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestRestarts(t *testing.T) {
	t.Parallel()
	kc := testClient(t)
	ns := namespace(t)
	ctx := context.Background()
	createDeployment(t, ns, "easel", 3)
	for _, name := range []string{"easel-calm", "easel-oom", "easel-killed-now", "redis-0"} {
		app := "easel"
		if name == "redis-0" {
			app = "redis"
		}
		createPod(t, ns, name, map[string]string{"app": app}, true)
	}
	// The kubelet's view of each: one restarted after an OOM kill, one
	// killed and not restarted yet, another app's pod restarted.
	setStatus := func(name string, cs corev1.ContainerStatus) {
		t.Helper()
		var p corev1.Pod
		if err := env(t).Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
			t.Fatal(err)
		}
		cs.Name = "easel"
		p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
		if err := env(t).Status().Update(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	setStatus("easel-calm", corev1.ContainerStatus{Ready: true})
	setStatus("easel-oom", corev1.ContainerStatus{RestartCount: 2,
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}})
	setStatus("easel-killed-now", corev1.ContainerStatus{
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}})
	setStatus("redis-0", corev1.ContainerStatus{RestartCount: 5})

	got, err := kc.Restarts(ctx, ns, "easel")
	if err != nil {
		t.Fatal(err)
	}
	want := []Restart{
		{Pod: "easel-killed-now", Container: "easel", Count: 0, Reason: "OOMKilled"},
		{Pod: "easel-oom", Container: "easel", Count: 2, Reason: "OOMKilled"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Restarts = %v, want %v", got, want)
	}
	if _, err := kc.Restarts(ctx, ns, "nothing"); err == nil {
		t.Error("Restarts of a missing deployment gave no error")
	}
}
