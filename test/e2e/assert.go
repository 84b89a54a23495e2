package e2e

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/easelhq/easel/internal/kube"
	"github.com/easelhq/easel/internal/probe"
)

// BalanceTolerance is how far, as a fraction of the mean, a replica's share
// of the requests may be from the mean under round robin.
const BalanceTolerance = 0.15

// CheckSteady checks a run with a fixed number of replicas and no pod
// dying: memory + round robin breaks most flows, cookie affinity keeps every
// flow, ClientIP affinity keeps every flow by sending every user (all from
// one address) to one pod, Redis + round robin keeps every flow and spreads
// the requests evenly over replicas.
func CheckSteady(s Strategy, res *probe.Result, replicas int) error {
	if err := ran(res); err != nil {
		return err
	}
	var errs []error
	switch s.Name {
	case "memory-rr":
		errs = append(errs, consistencyBelow(res, 50))
	case "memory-cookie":
		errs = append(errs, consistencyAll(res))
	case "memory-clientip":
		errs = append(errs, consistencyAll(res), pinned(res))
	case "redis-rr":
		errs = append(errs, consistencyAll(res), Balanced(res, replicas, BalanceTolerance))
	default:
		return fmt.Errorf("no expectations for strategy %q", s.Name)
	}
	return errors.Join(errs...)
}

// CheckChaos checks a run during which a pod was deleted, the rollout
// restarted and the Deployment scaled: Redis keeps every flow and no request
// fails in a way a user would see; memory + round robin still breaks most;
// affinity (cookie or ClientIP) loses the work of the users whose pod died
// (the restart replaces every pod, so some flow in progress must break).
func CheckChaos(s Strategy, res *probe.Result) error {
	if err := ran(res); err != nil {
		return err
	}
	switch s.Name {
	case "memory-rr":
		return consistencyBelow(res, 50)
	case "memory-cookie", "memory-clientip":
		if res.Broken == 0 {
			return fmt.Errorf("no flow broke while pods died (%d flows, events %v): with memory sessions the users of a deleted pod must lose their work", res.Flows, res.Events)
		}
		return nil
	case "redis-rr":
		var errs []error
		errs = append(errs, consistencyAll(res))
		if n := res.VisibleFailures(); n > 0 {
			errs = append(errs, fmt.Errorf("%d requests failed in a way a user would see (%v: %q); only stale keep-alive resends are expected", n, res.FailedByKind, res.FailureSamples))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("no expectations for strategy %q", s.Name)
}

// CheckPhotos checks the run in which users at once each uploaded a 48 MP
// photo, edited it and downloaded it at full size, against replicas held to
// the chart's memory limit: every user finished with their own work (a
// replica that was busy said so, and the probe retried as told), no request
// failed in a way a user would see, and no easel container restarted or
// was OOM-killed.
func CheckPhotos(res *probe.Result, users int, restarts []kube.Restart) error {
	if err := ran(res); err != nil {
		return err
	}
	errs := []error{consistencyAll(res)}
	if res.Flows != users {
		errs = append(errs, fmt.Errorf("%d of %d users finished their photo's flow", res.Flows, users))
	}
	if n := res.VisibleFailures(); n > 0 {
		errs = append(errs, fmt.Errorf("%d requests failed in a way a user would see (%v: %q)", n, res.FailedByKind, res.FailureSamples))
	}
	for _, r := range restarts {
		errs = append(errs, fmt.Errorf("a replica lost its process under the photos: %s", r))
	}
	return errors.Join(errs...)
}

// pinned requires one replica to have served every request: what ClientIP
// affinity does to users who share an address (here, the probe's host; in
// life, everyone behind one NAT).
func pinned(res *probe.Result) error {
	if len(res.Replicas) != 1 {
		return fmt.Errorf("%d replicas served requests (%v), want 1: every user shares one client address", len(res.Replicas), res.Replicas)
	}
	return nil
}

// ran fails a run that completed no flow or reached no replica: then the
// other checks would say nothing.
func ran(res *probe.Result) error {
	switch {
	case res == nil:
		return errors.New("no probe result")
	case res.Flows == 0:
		return errors.New("the probe completed no flow")
	case len(res.Replicas) == 0:
		return fmt.Errorf("no response carried X-Served-By (%d requests, failures %v): is the ingress routing to easel?", res.Requests, res.FailedByKind)
	}
	return nil
}

// consistencyAll requires every flow to be consistent.
func consistencyAll(res *probe.Result) error {
	if res.Consistency < 100 {
		return fmt.Errorf("consistency %.2f%%, want 100%% (%d of %d flows broken: %v; e.g. %q)",
			res.Consistency, res.Broken, res.Flows, res.Errors, first(res.Examples))
	}
	return nil
}

// consistencyBelow requires consistency under limit percent.
func consistencyBelow(res *probe.Result, limit float64) error {
	if res.Consistency >= limit {
		return fmt.Errorf("consistency %.2f%%, want below %.0f%% (memory sessions behind round robin should lose most flows; were all requests served by one replica? %v)",
			res.Consistency, limit, res.Replicas)
	}
	return nil
}

// Balanced requires exactly replicas replicas to have served requests, each
// share within tolerance (a fraction) of the mean share.
func Balanced(res *probe.Result, replicas int, tolerance float64) error {
	if replicas < 1 {
		return fmt.Errorf("balance: %d replicas expected", replicas)
	}
	if len(res.Replicas) != replicas {
		return fmt.Errorf("balance: %d replicas served requests, want %d: %v", len(res.Replicas), replicas, res.Replicas)
	}
	mean := 1 / float64(replicas)
	names := make([]string, 0, len(res.Shares))
	for name := range res.Shares {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		share := res.Shares[name]
		if dev := math.Abs(share-mean) / mean; dev > tolerance+1e-9 { // shares are rounded floats
			errs = append(errs, fmt.Errorf("balance: %s served %.1f%% of requests, %.0f%% off the mean %.1f%% (allowed ±%.0f%%)",
				name, share*100, dev*100, mean*100, tolerance*100))
		}
	}
	return errors.Join(errs...)
}

// first returns the first example, or "".
func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
