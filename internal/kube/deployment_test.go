package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func TestScale(t *testing.T) {
	t.Parallel()
	kc := testClient(t)
	ns := namespace(t)
	createDeployment(t, ns, "easel", 1)
	ctx := context.Background()
	for _, want := range []int32{3, 5, 2, 0} {
		if err := kc.Scale(ctx, ns, "easel", want); err != nil {
			t.Fatalf("Scale(%d): %v", want, err)
		}
		d := &appsv1.Deployment{}
		if err := env(t).Get(ctx, client.ObjectKey{Namespace: ns, Name: "easel"}, d); err != nil {
			t.Fatalf("reading deployment: %v", err)
		}
		if got := *d.Spec.Replicas; got != want {
			t.Errorf("after Scale(%d): spec.replicas = %d", want, got)
		}
		got, err := kc.Replicas(ctx, ns, "easel")
		if err != nil || got != want {
			t.Errorf("Replicas() = %d, %v; want %d", got, err, want)
		}
	}
	if err := kc.Scale(ctx, ns, "easel", -1); err == nil {
		t.Error("Scale(-1) succeeded")
	}
}

func TestWaitForRollout(t *testing.T) {
	t.Parallel()
	kc := testClient(t)
	ns := namespace(t)
	createDeployment(t, ns, "easel", 3)
	ctx := context.Background()

	t.Run("returns when the status reaches the target", func(t *testing.T) {
		setStatus(t, ns, "easel", -1, 1, 1, 1, 1)
		var lines []string
		done := make(chan error, 1)
		go func() {
			done <- kc.WaitForRollout(ctx, ns, "easel", 20*time.Second, func(s string) { lines = append(lines, s) })
		}()
		time.Sleep(200 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("WaitForRollout returned before the rollout was complete: %v", err)
		default:
		}
		setStatus(t, ns, "easel", -1, 3, 3, 3, 3)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("WaitForRollout: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("WaitForRollout did not return after the status reached the target")
		}
		if len(lines) == 0 || !strings.Contains(lines[0], "1 of 3 updated, 1 ready, 1 available") {
			t.Errorf("progress lines = %q, want one saying 1 of 3 updated", lines)
		}
	})

	t.Run("times out naming the missing replicas", func(t *testing.T) {
		setStatus(t, ns, "easel", -1, 3, 2, 2, 3)
		start := time.Now()
		err := kc.WaitForRollout(ctx, ns, "easel", 500*time.Millisecond, nil)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("WaitForRollout = %v, want ErrTimeout", err)
		}
		want := "deployment " + ns + "/easel: 2 of 3 replicas available after 500ms (updated 3, ready 2)"
		if err.Error() != want {
			t.Errorf("error = %q\nwant    %q", err, want)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("timed out after %s, want about 500ms", el)
		}
	})

	t.Run("times out while old replicas remain", func(t *testing.T) {
		setStatus(t, ns, "easel", -1, 3, 3, 3, 4)
		err := kc.WaitForRollout(ctx, ns, "easel", 300*time.Millisecond, nil)
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "1 old replicas pending termination") {
			t.Errorf("WaitForRollout = %v, want a timeout naming the old replica", err)
		}
	})

	t.Run("times out when the generation is not observed", func(t *testing.T) {
		setStatus(t, ns, "easel", 0, 3, 3, 3, 3)
		err := kc.WaitForRollout(ctx, ns, "easel", 300*time.Millisecond, nil)
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "not observed by the deployment controller") {
			t.Errorf("WaitForRollout = %v, want a timeout about the generation", err)
		}
	})
}

func TestRolloutRestart(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	kc := NewForClient(env(t), Options{Now: func() time.Time { return now }})
	ns := namespace(t)
	before := createDeployment(t, ns, "easel", 2)
	ctx := context.Background()
	if err := kc.RolloutRestart(ctx, ns, "easel"); err != nil {
		t.Fatalf("RolloutRestart: %v", err)
	}
	d := &appsv1.Deployment{}
	if err := env(t).Get(ctx, client.ObjectKeyFromObject(before), d); err != nil {
		t.Fatalf("reading deployment: %v", err)
	}
	if got, want := d.Spec.Template.Annotations[RestartedAtAnnotation], "2026-11-25T10:30:00Z"; got != want {
		t.Errorf("%s = %q, want %q", RestartedAtAnnotation, got, want)
	}
	if d.Generation <= before.Generation {
		t.Errorf("generation %d did not grow from %d: the template did not change", d.Generation, before.Generation)
	}

	// A paused Deployment is refused, as kubectl does.
	d.Spec.Paused = true
	if err := env(t).Update(ctx, d); err != nil {
		t.Fatalf("pausing: %v", err)
	}
	if err := kc.RolloutRestart(ctx, ns, "easel"); err == nil || !strings.Contains(err.Error(), "paused") {
		t.Errorf("RolloutRestart on a paused deployment = %v, want an error saying it is paused", err)
	}
}

func TestDeploymentNotFound(t *testing.T) {
	t.Parallel()
	kc := testClient(t)
	ns := namespace(t)
	ctx := context.Background()
	ops := []struct {
		name string
		do   func() error
	}{
		{"scale", func() error { return kc.Scale(ctx, ns, "missing", 3) }},
		{"replicas", func() error { _, err := kc.Replicas(ctx, ns, "missing"); return err }},
		{"wait", func() error { return kc.WaitForRollout(ctx, ns, "missing", time.Second, nil) }},
		{"restart", func() error { return kc.RolloutRestart(ctx, ns, "missing") }},
		{"delete pod", func() error { _, err := kc.DeletePod(ctx, ns, "missing", ""); return err }},
		{"ready pods", func() error { _, err := kc.ReadyPods(ctx, ns, "missing"); return err }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			err := op.do()
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("error = %v, want ErrNotFound", err)
			}
			if want := "deployment " + ns + "/missing not found"; !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q, want it to say %q", err, want)
			}
		})
	}
}

func TestForbidden(t *testing.T) {
	t.Parallel()
	admin := env(t)
	ns := namespace(t)
	createDeployment(t, ns, "easel", 1)
	ctx := context.Background()
	// The user may only get deployments: scaling needs patch on
	// deployments/scale, deleting a pod needs list and delete on pods.
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "get-deployments"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "limited"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "limited-" + ns}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T: %v", obj, err)
		}
	}
	user, err := apiServer.env.AddUser(envtest.User{Name: "limited-" + ns}, nil)
	if err != nil {
		t.Fatalf("adding user: %v", err)
	}
	kc, err := New(user.Config(), Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"scale", func() error { return kc.Scale(ctx, ns, "easel", 3) },
			`verb "patch" on resource "deployments/scale" in API group "apps"`},
		{"restart", func() error { return kc.RolloutRestart(ctx, ns, "easel") },
			`verb "patch" on resource "deployments" in API group "apps"`},
		{"delete pod", func() error { _, err := kc.DeletePod(ctx, ns, "easel", ""); return err },
			`verb "list" on resource "pods" in API group "" (core)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("error = %v, want ErrForbidden", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), ns) {
				t.Errorf("error = %q, want it to name %s in namespace %s", err, tt.want, ns)
			}
		})
	}
	// What the Role allows still works.
	if err := kc.WaitForRollout(ctx, ns, "easel", 200*time.Millisecond, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("WaitForRollout with get only = %v, want a timeout (no controller runs)", err)
	}
}
