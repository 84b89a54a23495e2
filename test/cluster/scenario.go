// Package clustertest runs easel's strategy matrix on a local cluster: a
// real redis-server, several `easel serve` processes and a real nginx, driven
// by the probe. The package's tests assert each strategy's numbers; `make
// demo` runs the same scenarios and prints the comparison.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/probe"
)

// Action is what happens to the cluster while the probe runs.
type Action string

const (
	// Nothing: the cluster is left alone.
	Nothing Action = ""
	// KillOne: replica easel-1 is killed with SIGKILL a third of the way
	// through the run.
	KillOne Action = "kill"
	// RollingRestart: every replica is restarted in turn mid-run.
	RollingRestart Action = "rolling-restart"
	// ScaleUpDown: the cluster starts with one replica, scales to Replicas,
	// then back to one, while the probe runs.
	ScaleUpDown Action = "scale"
)

// Scenario is one row of the strategy matrix.
type Scenario struct {
	// Name titles the row, e.g. "memory + round robin".
	Name string
	// Expectation says in words what the row must show.
	Expectation string
	// Store is cluster.StoreMemory or cluster.StoreRedis.
	Store string
	// Balance is nginx's balancing.
	Balance cluster.Balance
	// Replicas is the replica count (the peak, for ScaleUpDown).
	Replicas int
	// SourceIPs are the probe users' local addresses (nil: 127.0.0.1).
	SourceIPs []net.IP
	// Action is what happens during the run.
	Action Action
	// Users, Iterations, Edits and Download shape the probe. With an action,
	// Iterations is a minimum: the probe runs until the action is over and
	// every user has done at least as many flows after it.
	Users, Iterations, Edits int
	Download                 bool
	// Composite adds a built-in composite job to every flow.
	Composite bool
}

// OneSubnet returns n addresses in 127.0.0.0/24: distinct clients to a
// person, one client to nginx's ip_hash (which keys on three octets), like
// many users behind one NAT.
func OneSubnet(n int) []net.IP {
	out := make([]net.IP, n)
	for i := range out {
		out[i] = net.IPv4(127, 0, 0, byte(2+i%250)).To4()
	}
	return out
}

// Matrix returns the rows of issue 5's strategy matrix with probe sizes
// small enough for CI. edits and download shape every row's flow.
func Matrix(edits int, download bool) []Scenario {
	base := Scenario{Replicas: 3, Users: 20, Iterations: 3, Edits: edits, Download: download}
	rows := []Scenario{
		{Name: "memory + round robin", Expectation: "consistency below 50% (the original bug)",
			Store: cluster.StoreMemory, Balance: cluster.RoundRobin},
		{Name: "memory + ip_hash, distinct IPs", Expectation: "100% consistency while no replica dies",
			Store: cluster.StoreMemory, Balance: cluster.IPHash, SourceIPs: probe.SpreadIPs(20)},
		{Name: "memory + ip_hash, distinct IPs, kill one", Expectation: "killing a replica breaks its users' flows",
			Store: cluster.StoreMemory, Balance: cluster.IPHash, SourceIPs: probe.SpreadIPs(20), Action: KillOne},
		{Name: "memory + ip_hash, one IP", Expectation: "100% consistency, one replica takes over 90% of requests",
			Store: cluster.StoreMemory, Balance: cluster.IPHash, SourceIPs: OneSubnet(20)},
		{Name: "redis + round robin", Expectation: "100% consistency (composite jobs included), every share within ±15% of the mean",
			Store: cluster.StoreRedis, Balance: cluster.RoundRobin, Composite: true},
		{Name: "redis + round robin, kill one", Expectation: "100% consistency: no workspace lost, failed requests retried",
			Store: cluster.StoreRedis, Balance: cluster.RoundRobin, Action: KillOne},
		{Name: "redis + round robin, rolling restart", Expectation: "100% consistency and zero failed requests",
			Store: cluster.StoreRedis, Balance: cluster.RoundRobin, Action: RollingRestart},
		{Name: "redis + round robin, scale 1→3→1", Expectation: "100% consistency while scaling",
			Store: cluster.StoreRedis, Balance: cluster.RoundRobin, Action: ScaleUpDown},
	}
	for i := range rows {
		r := base
		r.Name, r.Expectation, r.Store, r.Balance, r.SourceIPs, r.Action, r.Composite =
			rows[i].Name, rows[i].Expectation, rows[i].Store, rows[i].Balance, rows[i].SourceIPs, rows[i].Action, rows[i].Composite
		rows[i] = r
	}
	return rows
}

// Run starts a cluster for s with the easel binary bin in dir, runs the
// probe against it while performing s.Action, stops the cluster and returns
// the probe's result.
func Run(ctx context.Context, bin, dir string, s Scenario, logger *slog.Logger) (*probe.Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start := s.Replicas
	if s.Action == ScaleUpDown {
		start = 1
	}
	c, err := cluster.Start(ctx, cluster.Options{
		Binary:   bin,
		Dir:      filepath.Join(dir, "cluster"),
		Replicas: start,
		Store:    s.Store,
		Balance:  s.Balance,
		Logger:   logger,
	})
	if err != nil {
		return nil, fmt.Errorf("scenario %q: %w", s.Name, err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			logger.Warn("stopping the cluster", "scenario", s.Name, "err", err)
		}
	}()

	cfg := probe.DefaultConfig()
	cfg.URL = c.URL()
	cfg.Users, cfg.Edits, cfg.Download, cfg.Composite = s.Users, s.Edits, s.Download, s.Composite
	cfg.SourceIPs = s.SourceIPs
	cfg.ExpectedReplicas = s.Replicas
	cfg.Iterations = s.Iterations
	if s.Action == RollingRestart || s.Action == ScaleUpDown {
		// Run until the action is over; a generous cap guards a hang.
		cfg.Iterations, cfg.Duration = 0, 2*time.Minute
	}
	runner, err := probe.NewRunner(cfg, probe.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	actionErr := make(chan error, 1)
	runDone := make(chan struct{})
	go func() { actionErr <- act(ctx, c, runner, s, runDone) }()
	res, err := runner.Run(ctx)
	close(runDone)
	if err != nil {
		return nil, err
	}
	if err := <-actionErr; err != nil {
		return res, fmt.Errorf("scenario %q: %w", s.Name, err)
	}
	return res, nil
}

// act performs s.Action on c while runner runs, and stops runner when a
// duration-bound run has seen enough flows after the action.
func act(ctx context.Context, c *cluster.Cluster, runner *probe.Runner, s Scenario, runDone <-chan struct{}) error {
	flowsPerRound := s.Users * max(s.Iterations, 1)
	// waitFlows waits until n more flows have completed.
	waitFlows := func(n int) error {
		target := runner.Completed() + n
		for runner.Completed() < target {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-runDone:
				return fmt.Errorf("the probe finished after %d flows, before the %s action was done", runner.Completed(), s.Action)
			case <-time.After(5 * time.Millisecond):
			}
		}
		return nil
	}
	switch s.Action {
	case KillOne:
		if err := waitFlows(flowsPerRound / 3); err != nil {
			return err
		}
		runner.Mark("kill easel-1")
		return c.Kill("easel-1")
	case RollingRestart:
		defer runner.Stop()
		if err := waitFlows(s.Users); err != nil {
			return err
		}
		runner.Mark("rolling restart")
		if err := c.RollingRestart(ctx); err != nil {
			return err
		}
		runner.Mark("restarted")
		return waitFlows(flowsPerRound)
	case ScaleUpDown:
		defer runner.Stop()
		if err := waitFlows(s.Users); err != nil {
			return err
		}
		runner.Mark(fmt.Sprintf("scale 1→%d", s.Replicas))
		if err := c.Scale(ctx, s.Replicas); err != nil {
			return err
		}
		if err := waitFlows(flowsPerRound); err != nil {
			return err
		}
		runner.Mark(fmt.Sprintf("scale %d→1", s.Replicas))
		if err := c.Scale(ctx, 1); err != nil {
			return err
		}
		return waitFlows(s.Users)
	}
	return nil
}
