// Package kube holds easel's Kubernetes helpers, built on controller-runtime's
// client: scale a Deployment through its scale subresource (what `kubectl
// scale` does), wait for a rollout, delete one of its pods, restart its
// rollout (what `kubectl rollout restart` does) and list its ready pods.
// Chaos drives those actions on a timer for the probe and the kind e2e.
//
// Errors name what went wrong in terms a user can act on: a missing
// Deployment (ErrNotFound), a verb and resource RBAC does not allow
// (ErrForbidden, with the verb and resource), and a rollout that did not
// finish in time (ErrTimeout, with the replicas still missing).
//
// The server never imports this package; only the probe, the tests and the
// e2e do.
package kube
