package metrics

import (
	"sync/atomic"
	"testing"
)

func TestWatchKeyState_GaugeFollowsTheStateAtScrape(t *testing.T) {
	m := New()
	var listening atomic.Bool
	m.WatchKeyState(listening.Load)
	for _, want := range []bool{false, true, false} {
		listening.Store(want)
		fams, _ := scrape(t, m)
		got := series(t, fams, "keyward_key_state_in_memory", nil).GetGauge().GetValue()
		if (got == 1) != want {
			t.Fatalf("gauge %v with the state in memory %v", got, want)
		}
	}
}
