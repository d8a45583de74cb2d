package metrics

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Family is one metric family Keyward serves, as its collector registers it: the
// source of the metrics reference (internal/docgen).
type Family struct {
	Name, Type, Help string
	Labels           []string // sorted
}

// Families lists Keyward's own families (keyward_*) of a fresh instance, by name. A
// vector has no series before its first observation, so each gets one here (on
// "other"); a registered family still without a series is an error, so that a new
// collector cannot be left out of the reference unnoticed.
func Families() ([]Family, error) {
	m := New()
	m.WatchKeyState(func() bool { return true })
	m.ObserveExchange(other, other, 0)
	m.ObserveKeycloak(other, 0, nil)
	m.HTTPRequest(other, other, 0, 0)

	described := map[string]bool{}
	ch := make(chan *prometheus.Desc)
	go func() { m.reg.Describe(ch); close(ch) }()
	for d := range ch {
		// Desc has no accessor; its String() quotes fqName first.
		if _, rest, ok := strings.Cut(d.String(), `fqName: "`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok && strings.HasPrefix(name, "keyward_") {
				described[name] = true
			}
		}
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		return nil, err
	}
	var out []Family
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "keyward_") {
			continue
		}
		delete(described, mf.GetName())
		f := Family{Name: mf.GetName(), Help: mf.GetHelp(), Type: strings.ToLower(mf.GetType().String())}
		if ms := mf.GetMetric(); len(ms) > 0 {
			for _, l := range ms[0].GetLabel() {
				f.Labels = append(f.Labels, l.GetName())
			}
		}
		slices.Sort(f.Labels)
		out = append(out, f)
	}
	if len(described) > 0 {
		return nil, fmt.Errorf("metrics: families without a series in Families: %v", slices.Sorted(maps.Keys(described)))
	}
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
