package metrics

import (
	"time"

	"github.com/cloister-rt/cloister/actor"

	"github.com/prometheus/client_golang/prometheus"
)

// storageMetrics are the figures of the processes granted storage: the
// per-turn ones come from the node's observer (actor.StorageObserver),
// the sizes are read at scrape time. Per-process labels are metric names
// (manifest paths, dynamic children under "parent/*"), as elsewhere.
type storageMetrics struct {
	commits        *prometheus.CounterVec
	commitFailures *prometheus.CounterVec
	commitSeconds  prometheus.Histogram
	alarmRuns      *prometheus.CounterVec
	alarmRetries   *prometheus.CounterVec
	quotaRefusals  *prometheus.CounterVec
}

func newStorageMetrics() *storageMetrics {
	return &storageMetrics{
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloister_storage_commits_total",
			Help: "Turns whose storage writes were committed.",
		}, []string{labelName}),
		commitFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloister_storage_commit_failures_total",
			Help: "Turns whose storage writes the backend failed to commit; each crashes its incarnation with reason storage.",
		}, []string{labelName}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cloister_storage_commit_seconds",
			Help:    "Time to commit one turn's storage writes, from the end of the turn until the backend had them durably, failures included.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		alarmRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloister_storage_alarm_runs_total",
			Help: "Runs of a storage alarm's handler, first runs and retries alike.",
		}, []string{labelName}),
		alarmRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloister_storage_alarm_retries_total",
			Help: "Runs of a storage alarm's handler after an earlier run of the same alarm threw (info.retryCount > 0).",
		}, []string{labelName}),
		quotaRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloister_storage_quota_refusals_total",
			Help: "Storage writes refused because they would take the process past its quota (limits.storage).",
		}, []string{labelName}),
	}
}

func (s *storageMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{s.commits, s.commitFailures, s.commitSeconds, s.alarmRuns, s.alarmRetries, s.quotaRefusals}
}

// Committed implements actor.StorageObserver.
func (m *Metrics) Committed(p *actor.Process, d time.Duration, err error) {
	m.storage.commitSeconds.Observe(d.Seconds())
	if err != nil {
		m.storage.commitFailures.WithLabelValues(p.MetricName()).Inc()
		return
	}
	m.storage.commits.WithLabelValues(p.MetricName()).Inc()
}

// AlarmRan implements actor.StorageObserver.
func (m *Metrics) AlarmRan(p *actor.Process, retry int) {
	name := p.MetricName()
	m.storage.alarmRuns.WithLabelValues(name).Inc()
	if retry > 0 {
		m.storage.alarmRetries.WithLabelValues(name).Inc()
	}
}

// QuotaRefused implements actor.StorageObserver.
func (m *Metrics) QuotaRefused(p *actor.Process) {
	m.storage.quotaRefusals.WithLabelValues(p.MetricName()).Inc()
}

var _ actor.StorageObserver = (*Metrics)(nil)

var (
	descStorageBytes = prometheus.NewDesc("cloister_storage_bytes",
		"Bytes the processes' storage holds as counted against their quotas (keys, encoded values and 16 per entry), as of each one's last commit; a dynamic child that has left the tree is not counted.",
		[]string{labelName}, nil)
	descStorageKeys = prometheus.NewDesc("cloister_storage_keys",
		"Keys the processes' storage holds, as of each one's last commit.", []string{labelName}, nil)
	descStorageQuota = prometheus.NewDesc("cloister_storage_quota_bytes",
		"The storage quotas of the processes (limits.storage), summed.", []string{labelName}, nil)
	descStorageNodeBytes = prometheus.NewDesc("cloister_storage_node_bytes",
		"Bytes the storage of every process in the node's tree holds, as cloister_storage_bytes counts them.", nil, nil)
	descStorageNodeKeys = prometheus.NewDesc("cloister_storage_node_keys",
		"Keys the storage of every process in the node's tree holds.", nil, nil)
	descStorageDisk = prometheus.NewDesc("cloister_storage_disk_bytes",
		"Bytes the embedded storage backend takes on disk, every slot's data and the write-ahead log included.", nil, nil)
)

// diskUser is a backend that knows what it takes on disk (storage.Pebble).
type diskUser interface {
	DiskUsage() (int64, error)
}

// collectStorage reports the storage sizes at scrape time; called by the
// tree collector with the processes it has listed.
func collectStorage(node *actor.Node, procs []*actor.Process, ch chan<- prometheus.Metric) {
	type use struct{ bytes, keys, quota int64 }
	byName := make(map[string]*use)
	var total use
	for _, p := range procs {
		u, quota, ok := p.StorageUsage()
		if !ok {
			continue
		}
		name := p.MetricName()
		s := byName[name]
		if s == nil {
			s = &use{}
			byName[name] = s
		}
		s.bytes += u.Bytes
		s.keys += u.Keys
		s.quota += quota
		total.bytes += u.Bytes
		total.keys += u.Keys
	}
	for name, s := range byName {
		ch <- prometheus.MustNewConstMetric(descStorageBytes, prometheus.GaugeValue, float64(s.bytes), name)
		ch <- prometheus.MustNewConstMetric(descStorageKeys, prometheus.GaugeValue, float64(s.keys), name)
		ch <- prometheus.MustNewConstMetric(descStorageQuota, prometheus.GaugeValue, float64(s.quota), name)
	}
	b := node.StorageBackend()
	if b == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descStorageNodeBytes, prometheus.GaugeValue, float64(total.bytes))
	ch <- prometheus.MustNewConstMetric(descStorageNodeKeys, prometheus.GaugeValue, float64(total.keys))
	if d, ok := b.(diskUser); ok {
		if n, err := d.DiskUsage(); err == nil {
			ch <- prometheus.MustNewConstMetric(descStorageDisk, prometheus.GaugeValue, float64(n))
		}
	}
}
