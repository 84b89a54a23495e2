package kube

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestReadyPods(t *testing.T) {
	t.Parallel()
	kc := testClient(t)
	ns := namespace(t)
	createDeployment(t, ns, "easel", 3)
	createPod(t, ns, "easel-b", map[string]string{"app": "easel"}, true)
	createPod(t, ns, "easel-a", map[string]string{"app": "easel"}, true)
	createPod(t, ns, "easel-starting", map[string]string{"app": "easel"}, false)
	createPod(t, ns, "redis-0", map[string]string{"app": "redis"}, true)
	pods, err := kc.ReadyPods(context.Background(), ns, "easel")
	if err != nil {
		t.Fatalf("ReadyPods: %v", err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	if want := []string{"easel-a", "easel-b"}; !slices.Equal(names, want) {
		t.Errorf("ReadyPods = %q, want %q", names, want)
	}
}

func TestDeletePod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		pod     string
		wantErr string
		deleted []string // pods that may be deleted; exactly one of them is
	}{
		{name: "random ready pod", deleted: []string{"easel-1", "easel-2", "easel-3"}},
		{name: "by name", pod: "easel-2", deleted: []string{"easel-2"}},
		{name: "by name, not ready", pod: "easel-starting", deleted: []string{"easel-starting"}},
		{name: "pod of another app", pod: "redis-0", wantErr: "does not belong to deployment easel"},
		{name: "missing pod", pod: "easel-9", wantErr: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kc := testClient(t)
			ns := namespace(t)
			createDeployment(t, ns, "easel", 3)
			all := []string{"easel-1", "easel-2", "easel-3", "easel-starting", "redis-0"}
			for _, name := range all {
				app := "easel"
				if strings.HasPrefix(name, "redis") {
					app = "redis"
				}
				createPod(t, ns, name, map[string]string{"app": app}, name != "easel-starting")
			}
			got, err := kc.DeletePod(ctx, ns, "easel", tt.pod)
			left := podNames(t, ns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DeletePod = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if len(left) != len(all) {
					t.Errorf("pods left = %q, want all of %q", left, all)
				}
				return
			}
			if err != nil {
				t.Fatalf("DeletePod: %v", err)
			}
			if !slices.Contains(tt.deleted, got) {
				t.Errorf("deleted %q, want one of %q", got, tt.deleted)
			}
			want := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == got })
			if !slices.Equal(left, want) {
				t.Errorf("pods left = %q, want %q (exactly %q deleted, redis-0 untouched)", left, want, got)
			}
		})
	}
}

func TestDeletePodNoReadyPod(t *testing.T) {
	t.Parallel()
	kc := testClient(t)
	ns := namespace(t)
	createDeployment(t, ns, "easel", 1)
	createPod(t, ns, "easel-starting", map[string]string{"app": "easel"}, false)
	if _, err := kc.DeletePod(context.Background(), ns, "easel", ""); !errors.Is(err, ErrNoReadyPod) {
		t.Errorf("DeletePod = %v, want ErrNoReadyPod", err)
	}
}
