// Package bench measures what consistency costs in easel, side by side with
// the alternatives, and writes the figures into BENCHMARKS.md: the session
// store against gin-contrib/sessions' stock Redis store, the Redis bytes a
// page view moves against a variant that keeps the image in the session, a
// local cluster with memory + ip_hash against Redis + round robin, and the
// image operations against github.com/disintegration/imaging.
//
// `make bench` runs ./test/bench/run, which uses this package. Nothing here
// is imported by the service: the "image in the session" variant exists
// only so that it can be measured.
package bench
