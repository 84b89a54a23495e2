package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are this server's Prometheus collectors, on a registry of its own
// (never the global default, so that two servers in one test do not clash).
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	sessions  *prometheus.CounterVec
	storeOps  *prometheus.HistogramVec
	blobCache *prometheus.CounterVec
	state     *prometheus.CounterVec
	redisRTs  *prometheus.CounterVec
	guards    *prometheus.CounterVec
	refusals  *prometheus.CounterVec
	storeFill prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "easel_http_request_duration_seconds", Help: "HTTP request durations by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_sessions_total", Help: "Session lookups by result: new (no cookie), hit, miss (cookie presented, session unknown).",
		}, []string{"result"}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "easel_store_operation_duration_seconds", Help: "Session store operation latency by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1},
		}, []string{"op"}),
		blobCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_blob_cache_total", Help: "Replica-local blob cache lookups by result (hit, miss).",
		}, []string{"result"}),
		state: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_state_cache_total",
			Help: "Replica-local cache lookups of shared state by kind (session, workspace) and result: hit (served from memory), miss (not cached, due for a refresh, or no version in the cookie), conflict (cached, but not the version the cookie names: it changed elsewhere).",
		}, []string{"kind", "result"}),
		redisRTs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_redis_round_trips_total",
			Help: "Requests sent to Redis and waited for, by command (getex, evalsha, ...; pipeline for a pipeline or transaction). Commands scripts run inside Redis are not counted; a new connection's handshake (hello, client) is.",
		}, []string{"command"}),
		guards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_session_copy_total",
			Help: "Requests that started from this replica's copy of their session, checked by their first workspace command, by outcome: confirmed (Redis held the copy), newer (Redis held a newer state with the same values, or a page view went on with what Redis holds), refused (the session ended or changed: nothing was done, 409 or a new session), unchecked (the request sent nothing that needed the session, such as a refused form).",
		}, []string{"result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_refusals_total",
			Help: "Requests refused to protect the shared store, by reason: rate_uploads (a client over its uploads a minute, 429), rate_bytes (over its upload bytes an hour, 429), store_full (the store past its high-water mark, or Redis refusing a write at maxmemory: 507).",
		}, []string{"reason"}),
		storeFill: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "easel_store_fill_ratio",
			Help: "used_memory / maxmemory of the fullest Redis primary at the last sample (0 when maxmemory is 0 or with the memory store); new uploads are refused from --store-high-water on.",
		}),
	}
	m.registry.MustRegister(m.requests, m.durations, m.sessions, m.storeOps, m.blobCache, m.state, m.redisRTs, m.guards,
		m.refusals, m.storeFill,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeStore(op string, d time.Duration) {
	m.storeOps.WithLabelValues(op).Observe(d.Seconds())
}

func (m *metrics) blobLookup(hit bool) {
	if hit {
		m.blobCache.WithLabelValues("hit").Inc()
	} else {
		m.blobCache.WithLabelValues("miss").Inc()
	}
}

// stateLookup returns the observer of one kind of state cache.
func (m *metrics) stateLookup(kind string) func(result string) {
	return func(result string) { m.state.WithLabelValues(kind, result).Inc() }
}

// sessionCopy counts the outcome of a request that started from a copy of
// its session (session.Options.ObserveCopy).
func (m *metrics) sessionCopy(result string) { m.guards.WithLabelValues(result).Inc() }

// redisRoundTrip counts one request to Redis (store.RoundTrips).
func (m *metrics) redisRoundTrip(command string) { m.redisRTs.WithLabelValues(command).Inc() }
