// Package cluster runs easel the way the Spring Boot original ran in
// production, on one machine: a real redis-server, several `easel serve`
// processes on free 127.0.0.1 ports and a real nginx in front of them whose
// upstream block the harness generates (round robin or ip_hash).
//
// The harness is used by the strategy-matrix tests in test/cluster and by
// `make demo`. It does not import testing: the process helpers here
// (StartRedis, StartNginx, FreePort) are also wrapped by internal/testutil
// for everyone's unit tests.
package cluster
