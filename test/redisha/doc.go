// Package redisha tests easel on highly available Redis with real servers:
// a Sentinel deployment (a primary, a replica, three sentinels) whose
// primary is killed with SIGKILL while the probe drives two `easel serve`
// processes behind nginx, and a Redis Cluster of three primaries that two
// replicas share. The helpers that start Redis live in internal/testutil
// (StartSentinel, StartRedisCluster); the easel processes and nginx come
// from internal/cluster. Run it with `go test ./test/redisha/`; under
// `-short` it is skipped.
package redisha
