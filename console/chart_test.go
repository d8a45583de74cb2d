package console

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/keys"
)

func TestUsageChart_BarsByOutcome_AndTheSameNumbersAsText(t *testing.T) {
	days := make([]keys.DayUsage, 30)
	for i := range days {
		days[i].Date = "2026-11-" + string(rune('0'+(i+1)/10)) + string(rune('0'+(i+1)%10))
	}
	days[3].Success = 4
	days[29].Success, days[29].Denied = 2, map[string]int64{"inactive": 3, "rate_limited": 1}
	c := usageChart(days)
	svg := string(c.SVG)
	if c.Issued != 6 || c.Refused != 4 || len(c.Days) != 2 {
		t.Fatalf("totals: issued %d refused %d, %d days with use", c.Issued, c.Refused, len(c.Days))
	}
	if n := strings.Count(svg, `class="issued"`); n != 2 {
		t.Errorf("%d issued bars, want 2", n)
	}
	if n := strings.Count(svg, `class="refused"`); n != 1 {
		t.Errorf("%d refused bars, want 1", n)
	}
	for _, want := range []string{"6 issued, 4 refused", "2026-11-30: 4 refused", `role="img"`, ">6</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(svg, "style=") || strings.Contains(svg, "<script") {
		t.Error("inline style or script in the chart (the CSP forbids them)")
	}
	if empty := usageChart(days[:0]); !strings.HasPrefix(string(empty.SVG), "<svg") || empty.Issued != 0 {
		t.Error("no days: no chart")
	}
}
