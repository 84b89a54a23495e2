package kube

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// selectorOf returns the Deployment's pod selector.
func selectorOf(d *appsv1.Deployment) (labels.Selector, error) {
	if d.Spec.Selector == nil {
		return nil, fmt.Errorf("deployment %s/%s has no selector", d.Namespace, d.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: bad selector: %w", d.Namespace, d.Name, err)
	}
	return sel, nil
}

// isReady reports whether p is running, Ready and not being deleted.
func isReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ReadyPods returns the pods that match the Deployment's selector, are Ready
// and are not being deleted, sorted by name. RBAC: get deployments, list
// pods.
func (c *Client) ReadyPods(ctx context.Context, ns, name string) ([]corev1.Pod, error) {
	d, err := c.getDeployment(ctx, ns, name)
	if err != nil {
		return nil, fmt.Errorf("listing ready pods: %w", err)
	}
	return c.readyPods(ctx, d)
}

// readyPods lists d's ready pods.
func (c *Client) readyPods(ctx context.Context, d *appsv1.Deployment) ([]corev1.Pod, error) {
	sel, err := selectorOf(d)
	if err != nil {
		return nil, err
	}
	var list corev1.PodList
	if err := c.c.List(ctx, &list, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		err = classify(err, call{verb: "list", resource: "pods", kind: "pod", namespace: d.Namespace})
		return nil, fmt.Errorf("listing pods of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	var out []corev1.Pod
	for i := range list.Items {
		if isReady(&list.Items[i]) {
			out = append(out, list.Items[i])
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeletePod deletes one pod of the Deployment, with its default grace
// period, and returns its name. With podName empty it picks a random ready
// pod (ErrNoReadyPod when there is none); otherwise podName must match the
// Deployment's selector. RBAC: get deployments, list (or get) and delete
// pods.
func (c *Client) DeletePod(ctx context.Context, ns, deployment, podName string) (string, error) {
	d, err := c.getDeployment(ctx, ns, deployment)
	if err != nil {
		return "", fmt.Errorf("deleting a pod: %w", err)
	}
	var pod corev1.Pod
	if podName == "" {
		ready, err := c.readyPods(ctx, d)
		if err != nil {
			return "", fmt.Errorf("deleting a pod: %w", err)
		}
		if len(ready) == 0 {
			return "", fmt.Errorf("deleting a pod of deployment %s/%s: %w", ns, deployment, ErrNoReadyPod)
		}
		pod = ready[rand.IntN(len(ready))]
	} else {
		if err := c.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: podName}, &pod); err != nil {
			err = classify(err, call{verb: "get", resource: "pods", kind: "pod", namespace: ns, name: podName})
			return "", fmt.Errorf("deleting pod %s/%s: %w", ns, podName, err)
		}
		sel, err := selectorOf(d)
		if err != nil {
			return "", err
		}
		if !sel.Matches(labels.Set(pod.Labels)) {
			return "", fmt.Errorf("deleting pod %s/%s: it does not belong to deployment %s (its labels do not match the selector %s)", ns, podName, deployment, sel)
		}
	}
	// The UID precondition makes sure a replacement pod that reused the name
	// is not deleted instead.
	if err := c.c.Delete(ctx, &pod, client.Preconditions{UID: &pod.UID}); err != nil {
		err = classify(err, call{verb: "delete", resource: "pods", kind: "pod", namespace: ns, name: pod.Name})
		return "", fmt.Errorf("deleting pod %s/%s: %w", ns, pod.Name, err)
	}
	return pod.Name, nil
}
