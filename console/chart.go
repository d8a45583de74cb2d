package console

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/keyward/keyward/keys"
)

// chart is a server-rendered bar chart of daily exchanges by outcome, with the same
// numbers as a table for screen readers and for anyone who prefers numbers.
type chart struct {
	SVG     template.HTML
	Days    []keys.DayUsage
	Issued  int64
	Refused int64
}

// usageChart draws issued (bottom) and refused (stacked on top) exchanges per day.
// Only numbers and fixed words go into the SVG, so building it as text is safe.
func usageChart(days []keys.DayUsage) chart {
	const width, height, top, bottom, left = 620, 180, 10, 24, 36
	plotH := float64(height - top - bottom)
	var peak int64 = 1
	out := chart{}
	refused := make([]int64, len(days))
	for i, d := range days {
		for _, n := range d.Denied {
			refused[i] += n
		}
		out.Issued += d.Success
		out.Refused += refused[i]
		if t := d.Success + refused[i]; t > peak {
			peak = t
		}
		if d.Success+refused[i] > 0 {
			out.Days = append(out.Days, d)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">`, width, height)
	fmt.Fprintf(&b, `<title id="chart-title">Exchanges per day over the last %d days: %d issued, %d refused</title>`, len(days), out.Issued, out.Refused)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, height-bottom, width, height-bottom)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%d</text>`, left-4, top+8, peak)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">0</text>`, left-4, height-bottom)
	if n := len(days); n > 0 {
		slot := float64(width-left) / float64(n)
		bar := slot * 0.7
		for i, d := range days {
			x := float64(left) + float64(i)*slot + (slot-bar)/2
			hIssued := plotH * float64(d.Success) / float64(peak)
			hRefused := plotH * float64(refused[i]) / float64(peak)
			base := float64(height - bottom)
			if d.Success > 0 {
				fmt.Fprintf(&b, `<rect class="issued" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d issued</title></rect>`,
					x, base-hIssued, bar, hIssued, d.Date, d.Success)
			}
			if refused[i] > 0 {
				fmt.Fprintf(&b, `<rect class="refused" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d refused</title></rect>`,
					x, base-hIssued-hRefused, bar, hRefused, d.Date, refused[i])
			}
			if i%7 == 0 || (i == n-1 && i%7 >= 3) { // a label a week, and the last day unless too close
				fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+bar/2, height-6, d.Date[5:])
			}
		}
	}
	b.WriteString(`</svg>`)
	out.SVG = template.HTML(b.String()) //nolint:gosec // numbers, dates and fixed words only
	return out
}
