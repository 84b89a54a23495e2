package kube

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// getDeployment reads the Deployment ns/name.
func (c *Client) getDeployment(ctx context.Context, ns, name string) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	err := c.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d)
	if err != nil {
		return nil, classify(err, call{verb: "get", resource: "deployments", group: "apps", kind: "deployment", namespace: ns, name: name})
	}
	return d, nil
}

// Replicas returns the Deployment's desired replica count, read through the
// scale subresource (RBAC: get deployments/scale).
func (c *Client) Replicas(ctx context.Context, ns, name string) (int32, error) {
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = ns, name
	s := &autoscalingv1.Scale{}
	if err := c.c.SubResource("scale").Get(ctx, d, s); err != nil {
		err = classify(err, call{verb: "get", resource: "deployments/scale", group: "apps", kind: "deployment", namespace: ns, name: name})
		return 0, fmt.Errorf("reading the scale of deployment %s/%s: %w", ns, name, err)
	}
	return s.Spec.Replicas, nil
}

// Scale sets the Deployment's spec.replicas through the scale subresource,
// as `kubectl scale` does (RBAC: patch deployments/scale). It does not wait
// for the pods: call WaitForRollout for that.
func (c *Client) Scale(ctx context.Context, ns, name string, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("scaling deployment %s/%s: replicas must not be negative, got %d", ns, name, replicas)
	}
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = ns, name
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas))
	if err := c.c.SubResource("scale").Patch(ctx, d, patch, client.WithSubResourceBody(&autoscalingv1.Scale{})); err != nil {
		err = classify(err, call{verb: "patch", resource: "deployments/scale", group: "apps", kind: "deployment", namespace: ns, name: name})
		return fmt.Errorf("scaling deployment %s/%s to %d: %w", ns, name, replicas, err)
	}
	return nil
}
