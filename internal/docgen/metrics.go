package docgen

import (
	"strings"

	"github.com/keyward/keyward/metrics"
)

// Metrics is docs/reference/metrics.md: the families a fresh metrics registry holds.
func Metrics() ([]byte, error) {
	fams, err := metrics.Families()
	if err != nil {
		return nil, err
	}
	var d doc
	d.header("Metrics reference", "the collectors metrics.New registers (metrics/)")
	d.line("Keyward serves these at `GET /metrics` in the Prometheus formats (on `KEYWARD_METRICS_LISTEN_ADDR`")
	d.line("alone when it is set). Label values come from fixed lists in the code; any other value is counted")
	d.line("as `other`, so a label never holds a key id, a user id or text a caller chose. Counters start at 0 for")
	d.line("every listed value. The Go runtime's `go_*` and the process's `process_*` metrics are served too.")
	d.line("")
	var rows [][]string
	for _, f := range fams {
		labels := make([]string, len(f.Labels))
		for i, l := range f.Labels {
			labels[i] = code(l)
		}
		rows = append(rows, []string{code(f.Name), f.Type, strings.Join(labels, ", "), text(f.Help)})
	}
	d.table([]string{"Name", "Type", "Labels", "What"}, rows)
	d.line("A histogram (`_seconds`) is served as its `_bucket`, `_sum` and `_count` series.")
	return d.bytes(), nil
}
