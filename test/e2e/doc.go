// Package e2e is easel's end-to-end suite on a real Kubernetes cluster. The
// suite itself (files with the e2e build tag) gets a cluster from a provider
// — the single-node cluster of hack/cluster built on this machine (`make
// cluster-up`), a kind cluster where Docker can run privileged containers,
// or any cluster named by E2E_KUBECONFIG — builds the image from the
// repository's Dockerfile and loads it, and, for each session strategy,
// installs the chart, scales it, runs the probe through the ingress (or the
// Service, for kube-proxy's ClientIP affinity) steady and while deleting a
// pod, restarting the rollout and scaling 3 → 5 → 2, runs `helm test`, and
// checks what a user would notice. It ends with README's "measured on
// Kubernetes" table. Run it with `make e2e` (or `make e2e-kind`).
//
// The files without the build tag hold what needs no cluster: the
// configuration read from E2E_* variables, the choice of provider, the
// strategies with their chart values, the assertions on probe results and
// the table. They are unit-tested by `go test ./...`.
package e2e
