package server

import (
	"time"

	"github.com/easelhq/easel/internal/budget"
	"github.com/easelhq/easel/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// newBudget builds this replica's memory budget from cfg.Memory (a Budget
// of 0, when main has not derived one, as in tests, is derived here from
// the container's limit) and registers its metrics on m.
func newBudget(cfg config.Memory, blobCache int64, m *metrics) (*budget.Budget, error) {
	capacity := cfg.Budget
	if capacity == 0 {
		lim, err := budget.DetectLimit()
		if err != nil {
			return nil, err
		}
		capacity = budget.Derive(lim.Bytes, blobCache)
	}
	waited := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "easel_memory_budget_wait_seconds", Help: "How long admissions to the memory budget waited for their bytes (only those that had to wait).",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "easel_memory_budget_refusals_total", Help: "Work refused with 503 for lack of memory, by reason: queue_full (too many already waiting), deadline (waited too long).",
	}, []string{"reason"})
	for _, r := range []string{budget.ReasonQueueFull, budget.ReasonDeadline} {
		refused.WithLabelValues(r) // present at 0 from the start
	}
	b, err := budget.New(capacity, cfg.Queue, cfg.Wait, budget.Observer{
		Waited:  func(d time.Duration) { waited.Observe(d.Seconds()) },
		Refused: func(reason string) { refused.WithLabelValues(reason).Inc() },
	})
	if err != nil {
		return nil, err
	}
	m.registry.MustRegister(waited, refused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "easel_memory_budget_bytes", Help: "Capacity of this replica's memory budget for decoding, rendering and exporting images.",
		}, func() float64 { return float64(b.Capacity()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "easel_memory_budget_in_use_bytes", Help: "Bytes of the memory budget held by admitted work now.",
		}, func() float64 { return float64(b.InUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "easel_memory_budget_queue", Help: "Requests waiting for the memory budget now.",
		}, func() float64 { return float64(b.Waiting()) }),
	)
	return b, nil
}
