// Package e2e is easel's end-to-end suite on a kind cluster. The suite
// itself (files with the e2e build tag) creates the cluster, builds and
// loads the image, installs an ingress controller and, for each session
// strategy, installs the chart, scales it, runs the probe through the
// ingress while deleting a pod, restarting the rollout and scaling 3 → 5 →
// 2, and checks the results. Run it with `make e2e-kind`.
//
// The files without the build tag hold what needs no cluster: the
// configuration read from E2E_* variables, the strategies with their chart
// values, and the assertions on probe results. They are unit-tested by
// `go test ./...`.
package e2e
