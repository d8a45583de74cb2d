package metrics

import "github.com/prometheus/client_golang/prometheus"

// prunedTables are the tables the retention job deletes from.
var prunedTables = set("audit_events", "key_usage")

func newPruned() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyward_retention_pruned_rows_total",
		Help: "Rows the retention job deleted as older than their retention, by table (audit_events, key_usage).",
	}, []string{"table"})
}

// Pruned counts n rows of table deleted by the retention job.
func (m *Metrics) Pruned(table string, n int64) {
	if m != nil && n > 0 {
		m.pruned.WithLabelValues(allowed(prunedTables, table)).Add(float64(n))
	}
}
