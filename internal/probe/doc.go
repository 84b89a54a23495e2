// Package probe is easel's consistency and load probe: a black-box HTTP
// client that runs many virtual users through the real upload → redirect →
// edit → download flow and measures whether every step saw that user's own
// state.
//
// Each virtual user has its own cookie jar and, optionally, its own loopback
// source address, so that a balancer hashing on the client address (nginx
// ip_hash) sees distinct clients. The probe reads the X-Served-By and
// X-Session headers that every easel response carries to count requests per
// replica and session misses.
//
// The package imports no server code: it speaks only the HTTP contract, so
// it measures what a browser would see. It is used by `easel probe`, the
// local cluster tests in test/cluster, `helm test` and the kind e2e.
package probe
