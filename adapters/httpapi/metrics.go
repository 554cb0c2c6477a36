package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are MotherGoose's Prometheus collectors: HTTP requests by route
// template, webhook outcomes, events appended by type, Nest sync durations and
// (read at scrape time) projector lag. A nil *Metrics ignores every update.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	webhooks *prometheus.CounterVec
	appended *prometheus.CounterVec
	syncs    *prometheus.HistogramVec
}

// SyncObserver is told the outcome of every Nest sync: its trigger
// (scheduled, webhook, manual), its status (synced, failed, unchanged, or
// error when it could not be carried out) and how long it took.
type SyncObserver func(trigger, status string, d time.Duration)

// NewMetrics registers the collectors with reg. lag, when not nil, is read at
// every scrape as projector_lag_events{projector}.
func NewMetrics(reg *prometheus.Registry, lag func(context.Context) (map[string]uint64, error)) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("httpapi: nil metrics registry")
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests by route template and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency by route template.", Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhooks_total", Help: "GitLab webhook deliveries by outcome (accepted, ignored, duplicate, rejected, rate_limited).",
		}, []string{"outcome"}),
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_appended_total", Help: "Events appended to the log by the API, by event type.",
		}, []string{"type"}),
		syncs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nest_sync_duration_seconds", Help: "Nest sync duration by trigger and status.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"trigger", "status"}),
	}
	cs := []prometheus.Collector{m.requests, m.duration, m.webhooks, m.appended, m.syncs}
	if lag != nil {
		cs = append(cs, lagCollector{lag: lag, desc: prometheus.NewDesc("projector_lag_events", "Events between a projector's checkpoint and the log head.", []string{"projector"}, nil)})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// EventsAppended counts n events of type eventType (a wire name such as
// events.WebhookReceivedV1) as appended. Call it only after the append
// succeeded and not for a deduplicated (idempotent) retry.
func (m *Metrics) EventsAppended(eventType string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.appended.WithLabelValues(eventType).Add(float64(n))
}

// ObserveSync records one Nest sync's duration; see SyncObserver.
func (m *Metrics) ObserveSync(trigger, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.syncs.WithLabelValues(trigger, status).Observe(d.Seconds())
}

// SyncObserver returns ObserveSync as a SyncObserver, for the composition
// root to hand to the Nest sync service.
func (m *Metrics) SyncObserver() SyncObserver { return m.ObserveSync }

// lagCollector reads the projector lag at scrape time.
type lagCollector struct {
	lag  func(context.Context) (map[string]uint64, error)
	desc *prometheus.Desc
}

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := c.lag(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for name, n := range l {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), name)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument labels by the matched route's template, never the raw path.
func (s *server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "unmatched"
		if cr := mux.CurrentRoute(r); cr != nil {
			if t, err := cr.GetPathTemplate(); err == nil {
				route = t
			}
		}
		s.instrumentRoute(route, next).ServeHTTP(w, r)
	})
}

func (s *server) instrumentRoute(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
