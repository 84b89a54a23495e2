package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Restart is a container of a Deployment's pod that has restarted or been
// killed: what a user of that pod lost requests to.
type Restart struct {
	Pod, Container string
	// Count is the container's restart count.
	Count int32
	// Reason is why it last ended ("OOMKilled", "Error", ...), when known.
	Reason string
}

func (r Restart) String() string {
	return fmt.Sprintf("%s/%s restarted %d times (last: %s)", r.Pod, r.Container, r.Count, r.Reason)
}

// Restarts lists the containers of the Deployment's pods (ready or not,
// sorted by pod name) that have restarted, or whose container ended
// OOMKilled even if not restarted yet. An empty list means no pod of the
// Deployment has lost a process. RBAC: get deployments, list pods.
func (c *Client) Restarts(ctx context.Context, ns, name string) ([]Restart, error) {
	d, err := c.getDeployment(ctx, ns, name)
	if err != nil {
		return nil, fmt.Errorf("listing restarts: %w", err)
	}
	sel, err := selectorOf(d)
	if err != nil {
		return nil, err
	}
	var list corev1.PodList
	if err := c.c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		err = classify(err, call{verb: "list", resource: "pods", kind: "pod", namespace: ns})
		return nil, fmt.Errorf("listing pods of deployment %s/%s: %w", ns, name, err)
	}
	var out []Restart
	for _, p := range list.Items {
		for _, cs := range p.Status.ContainerStatuses {
			reason := ""
			if t := cs.LastTerminationState.Terminated; t != nil {
				reason = t.Reason
			}
			if t := cs.State.Terminated; t != nil && t.Reason == "OOMKilled" {
				reason = t.Reason
			}
			if cs.RestartCount > 0 || reason == "OOMKilled" {
				out = append(out, Restart{Pod: p.Name, Container: cs.Name, Count: cs.RestartCount, Reason: reason})
			}
		}
	}
	slices.SortFunc(out, func(a, b Restart) int { return strings.Compare(a.Pod+"/"+a.Container, b.Pod+"/"+b.Container) })
	return out, nil
}
