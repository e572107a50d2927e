package metrics

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label names.
const (
	labelName   = "name"
	labelReason = "reason"
	labelStatus = "status"
	labelKind   = "kind"
	labelRight  = "right"
	labelCause  = "cause"
)

// Metrics is one node's metrics. Create it with New before the node starts
// so that no event is missed. Safe for concurrent use.
type Metrics struct {
	node *actor.Node
	reg  *prometheus.Registry

	spawns      *prometheus.CounterVec
	restarts    *prometheus.CounterVec
	crashes     *prometheus.CounterVec
	limitKills  *prometheus.CounterVec
	limitHits   *prometheus.CounterVec
	denials     *prometheus.CounterVec
	messagesIn  *prometheus.CounterVec
	messagesOut *prometheus.CounterVec
	handling    *prometheus.HistogramVec
	rootFailed  prometheus.Counter
	storage     *storageMetrics

	sub *actor.Subscription
	own []prometheus.Collector // what Describe and Collect cover
}

// New creates a node's metrics: it subscribes to the node's events,
// installs itself as the node's observer, and registers itself, with the Go
// runtime and process collectors, on a registry of its own (Registry).
func New(node *actor.Node) *Metrics {
	m := &Metrics{node: node, reg: prometheus.NewRegistry()}
	m.spawns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_spawns_total",
		Help: "Incarnations started, first starts and restarts alike.",
	}, []string{labelName})
	m.restarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_restarts_total",
		Help: "Incarnations started in place of an earlier one.",
	}, []string{labelName})
	m.crashes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_crashes_total",
		Help: "Incarnations that ended abnormally, by typed crash reason (exit:<reason> is counted as exit).",
	}, []string{labelName, labelReason})
	m.limitKills = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_limit_kills_total",
		Help: "Incarnations ended for exceeding a limit: cpu, memory or mailbox.",
	}, []string{labelName, "limit"})
	m.limitHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_limit_refusals_total",
		Help: "Messages, calls, timers, spawns and console lines refused by a limit: mailbox, outbox, message_bytes, message_heap, call_depth, timers, children, processes, inspects or console (once per run of dropped lines).",
	}, []string{labelName, "limit"})
	m.denials = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_capability_denials_total",
		Help: "Operations refused for a missing right (cause=missing) or a revoked capability (cause=revoked), by the right needed.",
	}, []string{labelRight, labelCause})
	m.messagesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_messages_in_total",
		Help: "Messages whose turn has ended, by receiving process.",
	}, []string{labelName})
	m.messagesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloister_messages_out_total",
		Help: "Messages (send, call, sendAfter) put into another process's mailbox, by sending process.",
	}, []string{labelName})
	m.handling = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cloister_message_handling_seconds",
		Help:    "Time from the start of a message turn until its result, or the promise it returned, settled.",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{labelName})
	m.rootFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cloister_root_failures_total",
		Help: "Times the root supervisor gave up, stopping the node.",
	})
	m.storage = newStorageMetrics()
	m.sub = node.Subscribe(m.onEvent)
	dropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "cloister_events_dropped_total",
		Help: "Node events the metrics missed because their subscription fell behind; counters above may be low by as much.",
	}, func() float64 { return float64(m.sub.Dropped()) })
	m.own = []prometheus.Collector{
		m.spawns, m.restarts, m.crashes, m.limitKills, m.limitHits, m.denials,
		m.messagesIn, m.messagesOut, m.handling, m.rootFailed, dropped,
		&treeCollector{node: node}, newClusterCollector(node),
	}
	m.own = append(m.own, m.storage.collectors()...)
	m.reg.MustRegister(
		m,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	node.Observe(m)
	return m
}

// Describe implements prometheus.Collector: the node's metrics, without the
// Go runtime and process collectors of Registry.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.own {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.own {
		c.Collect(ch)
	}
}

// Registry returns the metrics' own registry, to add an embedding
// program's metrics to it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// Handled implements actor.Observer.
func (m *Metrics) Handled(p *actor.Process, d time.Duration) {
	name := p.MetricName()
	m.messagesIn.WithLabelValues(name).Inc()
	m.handling.WithLabelValues(name).Observe(d.Seconds())
}

// Sent implements actor.Observer.
func (m *Metrics) Sent(p *actor.Process) {
	m.messagesOut.WithLabelValues(p.MetricName()).Inc()
}

// Unreported implements actor.RefusalCounter: a refusal over its
// process's budget of reported ones is counted all the same.
func (m *Metrics) Unreported(e actor.Event) { m.onEvent(e) }

func (m *Metrics) onEvent(e actor.Event) {
	switch e := e.(type) {
	case actor.Started:
		name := m.nameOf(e.Path)
		m.spawns.WithLabelValues(name).Inc()
		if e.Incarnation > 1 {
			m.restarts.WithLabelValues(name).Inc()
		}
	case actor.Crashed:
		name := m.nameOf(e.Crash.Path)
		reason := Reason(e.Crash.Reason)
		m.crashes.WithLabelValues(name, reason).Inc()
		switch reason {
		case "cpu_limit":
			m.limitKills.WithLabelValues(name, "cpu").Inc()
		case "memory_limit":
			m.limitKills.WithLabelValues(name, "memory").Inc()
		case "mailbox_overflow":
			m.limitKills.WithLabelValues(name, "mailbox").Inc()
		}
	case actor.Denied:
		right, cause := "unknown", "missing"
		var de *capability.DeniedError
		if errors.As(e.Err, &de) {
			if s := de.Need.String(); s != "" {
				right = s
			}
			if de.Revoked {
				cause = "revoked"
			}
		}
		m.denials.WithLabelValues(right, cause).Inc()
	case actor.LimitHit:
		m.limitHits.WithLabelValues(m.nameOf(e.Path), e.Limit).Inc()
	case actor.RootFailed:
		m.rootFailed.Inc()
	}
}

// nameOf maps an event's process path to its bounded metric name.
func (m *Metrics) nameOf(path string) string {
	if p, ok := m.node.Lookup(path); ok {
		return p.MetricName()
	}
	// Not in the manifest: a dynamic child, counted under its supervisor.
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		if p, ok := m.node.Lookup(path[:i]); ok {
			return p.MetricName() + "/*"
		}
	}
	return "/*"
}

// reasons are the typed crash reasons; any other is reported as "other".
var reasons = map[string]bool{
	"error": true, "cpu_limit": true, "memory_limit": true, "mailbox_overflow": true,
	"killed": true, "linked": true, "shutdown": true, "reached_max_restart_intensity": true,
	actor.ReasonStorage: true,
}

// Reason maps a crash reason onto the bounded set used as a label:
// exit:<anything> becomes "exit", an unknown reason "other".
func Reason(r string) string {
	switch {
	case reasons[r]:
		return r
	case strings.HasPrefix(r, "exit:") || r == "exit":
		return "exit"
	}
	return "other"
}

// heapEstimator is implemented by processes that can estimate the heap
// their isolate holds.
type heapEstimator interface {
	HeapEstimate() int64
}

// treeCollector reports the state of the tree at scrape time.
type treeCollector struct {
	node *actor.Node
}

var (
	descProcesses = prometheus.NewDesc("cloister_processes",
		"Processes of the tree by kind and status.", []string{labelKind, labelStatus}, nil)
	descMailbox = prometheus.NewDesc("cloister_mailbox_depth",
		"Messages waiting for a turn.", []string{labelName}, nil)
	descIncarnation = prometheus.NewDesc("cloister_incarnation",
		"The current incarnation of each process declared in the manifest.", []string{labelName}, nil)
	descHeap = prometheus.NewDesc("cloister_isolate_heap_bytes",
		"Estimated JavaScript heap held by the isolates.", []string{labelName}, nil)
)

var statuses = []actor.Status{actor.StatusStarting, actor.StatusRunning, actor.StatusRestarting,
	actor.StatusStopping, actor.StatusStopped, actor.StatusFailed}

// Describe implements prometheus.Collector.
func (c *treeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descProcesses
	ch <- descMailbox
	ch <- descIncarnation
	ch <- descHeap
	for _, d := range []*prometheus.Desc{descStorageBytes, descStorageKeys, descStorageQuota,
		descStorageNodeBytes, descStorageNodeKeys, descStorageDisk} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *treeCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct {
		kind   actor.Kind
		status actor.Status
	}
	counts := make(map[key]int)
	depth := make(map[string]int64)
	heap := make(map[string]int64)
	procs := c.node.Processes()
	for _, p := range procs {
		counts[key{p.Kind(), p.Status()}]++
		if p.Kind() != actor.KindWorker {
			continue
		}
		name := p.MetricName()
		depth[name] += p.MailboxDepth()
		if h, ok := any(p).(heapEstimator); ok {
			heap[name] += h.HeapEstimate()
		}
		if p.Static() {
			ch <- prometheus.MustNewConstMetric(descIncarnation, prometheus.GaugeValue, float64(p.Incarnation()), name)
		}
	}
	for _, kind := range []actor.Kind{actor.KindWorker, actor.KindSupervisor} {
		for _, s := range statuses {
			ch <- prometheus.MustNewConstMetric(descProcesses, prometheus.GaugeValue, float64(counts[key{kind, s}]), kind.String(), s.String())
		}
	}
	for name, d := range depth {
		ch <- prometheus.MustNewConstMetric(descMailbox, prometheus.GaugeValue, float64(d), name)
	}
	for name, h := range heap {
		ch <- prometheus.MustNewConstMetric(descHeap, prometheus.GaugeValue, float64(h), name)
	}
	collectStorage(c.node, procs, ch)
}
