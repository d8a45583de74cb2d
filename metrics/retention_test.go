package metrics

import "testing"

func TestPruned_CountedByTable_StartAtZero_OtherTablesOther(t *testing.T) {
	m := New()
	fams, _ := scrape(t, m)
	for _, table := range []string{"audit_events", "key_usage"} {
		if v := series(t, fams, "keyward_retention_pruned_rows_total", map[string]string{"table": table}).GetCounter().GetValue(); v != 0 {
			t.Fatalf("%s starts at %v", table, v)
		}
	}
	m.Pruned("audit_events", 1000)
	m.Pruned("audit_events", 3)
	m.Pruned("key_usage", 7)
	m.Pruned("api_keys", 1)
	m.Pruned("key_usage", 0)
	fams, _ = scrape(t, m)
	for table, want := range map[string]float64{"audit_events": 1003, "key_usage": 7, "other": 1} {
		if v := series(t, fams, "keyward_retention_pruned_rows_total", map[string]string{"table": table}).GetCounter().GetValue(); v != want {
			t.Errorf("%s = %v; want %v", table, v, want)
		}
	}
	var none *Metrics
	none.Pruned("audit_events", 1)
}
