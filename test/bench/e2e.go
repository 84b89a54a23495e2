package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/probe"
)

// Strategy is one end-to-end configuration of the local cluster.
type Strategy struct {
	Name    string
	Store   string
	Balance cluster.Balance
}

// Strategies are the two the issue compares: sticky memory sessions and the
// shared store.
var Strategies = []Strategy{
	{"memory + ip_hash", cluster.StoreMemory, cluster.IPHash},
	{"redis + round robin", cluster.StoreRedis, cluster.RoundRobin},
}

// E2E is one probe run against one strategy.
type E2E struct {
	Seconds          float64
	Flows            int
	Consistency      float64
	PageViews, Edits int
	PageP50, PageP99 float64
	EditP50, EditP99 float64
	Replicas         int
	Failed           int
	// CPU is the CPU time per completed flow in milliseconds, by process:
	// "easel" (all replicas), "redis-server", "nginx" (master and workers)
	// and "probe".
	CPU map[string]float64
	// RoundTrips is what the replicas asked of Redis per completed flow,
	// by command (easel_redis_round_trips_total; "pipeline" for a
	// pipeline), summed over the replicas.
	RoundTrips map[string]float64
}

// PagesPerSec and EditsPerSec are throughputs over the run.
func (e E2E) PagesPerSec() float64 { return float64(e.PageViews) / e.Seconds }

// EditsPerSec is edits per second over the run.
func (e E2E) EditsPerSec() float64 { return float64(e.Edits) / e.Seconds }

// RunE2E starts a cluster of replicas for s and runs the web-flow probe for
// d with users virtual users, each on its own /24 source address so that
// ip_hash spreads them over the replicas as distinct clients.
func RunE2E(ctx context.Context, bin, dir string, s Strategy, replicas, users, edits int, d time.Duration) (E2E, error) {
	c, err := cluster.Start(ctx, cluster.Options{
		Binary: bin, Dir: filepath.Join(dir, "e2e"), Replicas: replicas, Store: s.Store, Balance: s.Balance,
	})
	if err != nil {
		return E2E{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	defer func() { _ = c.Stop() }() // teardown: the figures are taken by then
	cfg := probe.DefaultConfig()
	cfg.URL = c.URL()
	cfg.Users, cfg.Edits, cfg.Iterations, cfg.Duration = users, edits, 0, d
	cfg.SourceIPs = probe.SpreadIPs(users)
	cfg.ExpectedReplicas = replicas
	runner, err := probe.NewRunner(cfg, probe.Options{})
	if err != nil {
		return E2E{}, err
	}
	tripsBefore, err := roundTrips(ctx, c.Replicas())
	if err != nil {
		return E2E{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	before := processCPU()
	res, err := runner.Run(ctx)
	after := processCPU()
	if err != nil {
		return E2E{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	tripsAfter, err := roundTrips(ctx, c.Replicas())
	if err != nil {
		return E2E{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	trips := map[string]float64{}
	for k, v := range tripsAfter {
		if d := (v - tripsBefore[k]) / float64(max(res.Flows, 1)); d > 0 {
			trips[k] = d
		}
	}
	page, edit := res.Latency["page"], res.Latency["edit"]
	return E2E{
		Seconds: res.Seconds, Flows: res.Flows, Consistency: res.Consistency,
		PageViews: page.Count, Edits: edit.Count,
		PageP50: page.P50, PageP99: page.P99, EditP50: edit.P50, EditP99: edit.P99,
		Replicas: len(res.Replicas), Failed: res.VisibleFailures(),
		CPU: cpuPerFlow(before, after, res.Flows), RoundTrips: trips,
	}, nil
}

var roundTripsRe = regexp.MustCompile(`(?m)^easel_redis_round_trips_total\{command="(\w+)"\} (\S+)$`)

// roundTrips sums easel_redis_round_trips_total by command over replicas.
// Between two readings it also counts the background work every replica
// does (the composite job runners polling their queue); over a run of
// thousands of flows that is a small fraction of one round trip per flow.
func roundTrips(ctx context.Context, replicas []cluster.ReplicaInfo) (map[string]float64, error) {
	out := map[string]float64{}
	for _, r := range replicas {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Addr+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("reading %s's metrics: %w", r.Name, err)
		}
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s's metrics: %w", r.Name, err)
		}
		for _, m := range roundTripsRe.FindAllStringSubmatch(string(body), -1) {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				return nil, fmt.Errorf("%s's metrics: %q: %w", r.Name, m[0], err)
			}
			out[m[1]] += v
		}
	}
	return out, nil
}

// cpuPerFlow is the CPU used between two processCPU readings, in
// milliseconds per flow.
func cpuPerFlow(before, after map[string]float64, flows int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		out[k] = (v - before[k]) * 1000 / float64(max(flows, 1))
	}
	return out
}
