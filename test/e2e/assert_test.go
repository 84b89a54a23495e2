package e2e

import (
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/kube"
	"github.com/easelhq/easel/internal/probe"
)

// result builds a probe result with the given consistency and per-replica
// request counts.
func result(consistent, flows int, replicas map[string]int) *probe.Result {
	r := &probe.Result{Flows: flows, Consistent: consistent, Broken: flows - consistent, Replicas: replicas,
		Shares: probe.Shares(replicas), Consistency: 100}
	if flows > 0 {
		r.Consistency = float64(consistent) * 100 / float64(flows)
	}
	return r
}

func TestCheckSteady(t *testing.T) {
	t.Parallel()
	even := map[string]int{"easel-a": 100, "easel-b": 104, "easel-c": 96}
	skewed := map[string]int{"easel-a": 150, "easel-b": 80, "easel-c": 70}
	tests := []struct {
		name, strategy string
		res            *probe.Result
		wantErr        string // "" means pass
	}{
		{"memory rr shows the bug", "memory-rr", result(10, 60, even), ""},
		{"memory rr without the bug", "memory-rr", result(60, 60, map[string]int{"easel-a": 300}), "want below 50%"},
		{"cookie keeps every flow", "memory-cookie", result(60, 60, skewed), ""},
		{"clientIP keeps every flow on one pod", "memory-clientip", result(60, 60, map[string]int{"easel-b": 300}), ""},
		{"clientIP spread over pods", "memory-clientip", result(60, 60, even), "3 replicas served requests (map[easel-a:100 easel-b:104 easel-c:96]), want 1"},
		{"cookie lost a flow", "memory-cookie", result(59, 60, skewed), "consistency 98.33%, want 100%"},
		{"redis consistent and balanced", "redis-rr", result(60, 60, even), ""},
		{"redis unbalanced", "redis-rr", result(60, 60, skewed), "easel-a served 50.0% of requests"},
		{"redis on two of three", "redis-rr", result(60, 60, map[string]int{"easel-a": 1, "easel-b": 1}), "2 replicas served requests, want 3"},
		{"redis inconsistent", "redis-rr", result(58, 60, even), "want 100%"},
		{"no flows", "redis-rr", result(0, 0, even), "no flow"},
		{"ingress not routing", "memory-rr", result(0, 60, map[string]int{}), "X-Served-By"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := StrategyNamed(tt.strategy)
			err := CheckSteady(s, tt.res, 3)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("CheckSteady: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckSteady = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckChaos(t *testing.T) {
	t.Parallel()
	three := map[string]int{"a": 1, "b": 1, "c": 1}
	tests := []struct {
		name, strategy string
		res            *probe.Result
		wantErr        string
	}{
		{"redis survives", "redis-rr", result(90, 90, three), ""},
		{"redis lost flows", "redis-rr", result(85, 90, three), "want 100%"},
		{"cookie loses the dead pods' users", "memory-cookie", result(70, 90, three), ""},
		{"cookie lost nobody while pods died", "memory-cookie", result(90, 90, three), "no flow broke"},
		{"clientIP loses the dead pods' users", "memory-clientip", result(80, 90, three), ""},
		{"redis with a failure users see", "redis-rr", withFailures(result(90, 90, three), 3, 1), "2 requests failed in a way a user would see"},
		{"redis with stale resends only", "redis-rr", withFailures(result(90, 90, three), 2, 2), ""},
		{"memory rr", "memory-rr", result(20, 90, three), ""},
		{"memory rr too good", "memory-rr", result(80, 90, three), "want below 50%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := StrategyNamed(tt.strategy)
			err := CheckChaos(s, tt.res)
			if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckChaos = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestBalanced(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas map[string]int
		n        int
		ok       bool
	}{
		{"exact", map[string]int{"a": 10, "b": 10}, 2, true},
		{"at the edge", map[string]int{"a": 115, "b": 85}, 2, true},
		{"past the edge", map[string]int{"a": 117, "b": 83}, 2, false},
		{"one idle", map[string]int{"a": 10, "b": 10}, 3, false},
		{"none expected", map[string]int{"a": 10}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Balanced(result(1, 1, tt.replicas), tt.n, BalanceTolerance)
			if (err == nil) != tt.ok {
				t.Errorf("Balanced(%v, %d) = %v, want ok=%v", tt.replicas, tt.n, err, tt.ok)
			}
		})
	}
}

// withFailures records failed requests, stale of them being resends on a
// reused keep-alive connection.
func withFailures(r *probe.Result, failed, stale int) *probe.Result {
	r.FailedRequests, r.StaleConnectionFailures = failed, stale
	r.FailedByKind = map[string]int{"proxy-502": failed - stale, "eof-reused": stale}
	return r
}

func TestCheckPhotos(t *testing.T) {
	t.Parallel()
	even := map[string]int{"easel-a": 10, "easel-b": 11, "easel-c": 9}
	failed := result(8, 8, even)
	failed.FailedRequests = 2
	oom := []kube.Restart{{Pod: "easel-a", Container: "easel", Count: 1, Reason: "OOMKilled"}}
	for _, tt := range []struct {
		name     string
		res      *probe.Result
		restarts []kube.Restart
		wantErr  string
	}{
		{"every user finished, nothing restarted", result(8, 8, even), nil, ""},
		{"a replica was OOM-killed", result(8, 8, even), oom, "OOMKilled"},
		{"a user lost their photo", result(7, 8, even), nil, "want 100%"},
		{"a user never finished", result(6, 6, even), nil, "6 of 8 users"},
		{"requests failed", failed, nil, "2 requests failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckPhotos(tt.res, 8, tt.restarts)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("CheckPhotos = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
