package metrics

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs /metrics from m's handler, as Prometheus would, and parses the text.
func scrape(t *testing.T, m *Metrics) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d, %v", resp.StatusCode, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse scrape: %v\n%s", err, body)
	}
	return fams, string(body)
}

// series finds the one series of family name whose labels are exactly labels.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s in the scrape", name)
	}
next:
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no series %s%v in the scrape", name, labels)
	return nil
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	return series(t, fams, name, labels).GetCounter().GetValue()
}

// bucket is the cumulative count of observations ≤ le.
func bucket(t *testing.T, h *dto.Histogram, le float64) uint64 {
	t.Helper()
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Fatalf("no bucket le=%v", le)
	return 0
}

func TestObserveExchange_CountsAndTimesByOutcome(t *testing.T) {
	m := New()
	m.ObserveExchange("issued", "token", 3*time.Millisecond)
	m.ObserveExchange("issued", "forward_auth", 700*time.Millisecond)
	m.ObserveExchange("rate_limited", "forward_auth", 400*time.Microsecond)

	fams, _ := scrape(t, m)
	for _, tc := range []struct {
		outcome, via string
		want         float64
	}{{"issued", "token", 1}, {"issued", "forward_auth", 1}, {"rate_limited", "forward_auth", 1}, {"rate_limited", "token", 0}} {
		if got := counter(t, fams, "keyward_exchanges_total", map[string]string{"outcome": tc.outcome, "via": tc.via}); got != tc.want {
			t.Errorf("%s via %s = %v, want %v", tc.outcome, tc.via, got, tc.want)
		}
	}
	h := series(t, fams, "keyward_exchange_duration_seconds", map[string]string{"outcome": "issued"}).GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() < 0.702 || h.GetSampleSum() > 0.704 {
		t.Errorf("issued duration: count %d, sum %v; want 2, 0.703", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, tc := range []struct {
		le   float64
		want uint64
	}{{0.0025, 0}, {0.005, 1}, {0.5, 1}, {1, 2}} {
		if got := bucket(t, h, tc.le); got != tc.want {
			t.Errorf("issued le=%v: %d, want %d", tc.le, got, tc.want)
		}
	}
	fast := series(t, fams, "keyward_exchange_duration_seconds", map[string]string{"outcome": "rate_limited"}).GetHistogram()
	if got := bucket(t, fast, 0.0005); got != 1 {
		t.Errorf("a 0.4 ms exchange is not in the 0.5 ms bucket (%d)", got)
	}
}

func TestHistograms_BucketsFromHalfAMillisecondToFiveSeconds(t *testing.T) {
	m := New()
	m.ObserveExchange("issued", "token", time.Millisecond)
	m.ObserveKeycloak("jwt_bearer_grant", time.Millisecond, nil)
	m.HTTPRequest("/v1/token", "POST", 200, time.Millisecond)
	fams, _ := scrape(t, m)
	for _, name := range []string{
		"keyward_exchange_duration_seconds",
		"keyward_keycloak_request_duration_seconds",
		"keyward_http_request_duration_seconds",
	} {
		b := fams[name].GetMetric()[0].GetHistogram().GetBucket()
		// The text format lists +Inf last.
		if n := len(b); n < 11 || b[0].GetUpperBound() != 0.0005 || b[n-2].GetUpperBound() != 5 || !math.IsInf(b[n-1].GetUpperBound(), 1) {
			t.Errorf("%s: %d buckets from %v to %v; want ≥ 10 from 0.0005 to 5, then +Inf", name, n,
				b[0].GetUpperBound(), b[n-1].GetUpperBound())
		}
	}
}

func TestObserveKeycloak_ErrorsCountedDurationsAlways(t *testing.T) {
	m := New()
	m.ObserveKeycloak("jwt_bearer_grant", 20*time.Millisecond, nil)
	m.ObserveKeycloak("jwt_bearer_grant", 5*time.Second, errors.New("timeout"))
	m.ObserveKeycloak("jwt_bearer_grant", 10*time.Millisecond, nil)

	fams, _ := scrape(t, m)
	h := series(t, fams, "keyward_keycloak_request_duration_seconds", map[string]string{"op": "jwt_bearer_grant"}).GetHistogram()
	if h.GetSampleCount() != 3 {
		t.Errorf("jwt_bearer_grant durations: %d, want 3 (failed calls too)", h.GetSampleCount())
	}
	if got := counter(t, fams, "keyward_keycloak_errors_total", map[string]string{"op": "jwt_bearer_grant"}); got != 1 {
		t.Errorf("errors{op=jwt_bearer_grant} = %v, want 1", got)
	}
}

func TestCounters_CacheDenialsDatabaseErrors_CountedByLabel(t *testing.T) {
	m := New()
	m.CacheHit()
	m.CacheHit()
	m.CacheMiss()
	m.Denied("rate_limited")
	m.Denied("rate_limited")
	m.Denied("ip_denied")
	m.DatabaseError("key_lookup")

	fams, _ := scrape(t, m)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"keyward_token_cache_requests_total", map[string]string{"result": "hit"}, 2},
		{"keyward_token_cache_requests_total", map[string]string{"result": "miss"}, 1},
		{"keyward_exchange_denials_total", map[string]string{"reason": "rate_limited"}, 2},
		{"keyward_exchange_denials_total", map[string]string{"reason": "ip_denied"}, 1},
		{"keyward_exchange_denials_total", map[string]string{"reason": "expired"}, 0},
		{"keyward_database_errors_total", map[string]string{"op": "key_lookup"}, 1},
	} {
		if got := counter(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

func TestHTTPRequest_ByRouteTemplateMethodAndCode(t *testing.T) {
	m := New()
	m.HTTPRequest("/v1/keys/:id", "GET", 200, 2*time.Millisecond)
	m.HTTPRequest("/v1/keys/:id", "GET", 404, time.Millisecond)
	m.HTTPRequest("/v1/keys/:id", "DELETE", 204, time.Millisecond)

	fams, _ := scrape(t, m)
	for _, tc := range []struct {
		method, code string
		want         float64
	}{{"GET", "200", 1}, {"GET", "404", 1}, {"DELETE", "204", 1}} {
		labels := map[string]string{"route": "/v1/keys/:id", "method": tc.method, "code": tc.code}
		if got := counter(t, fams, "keyward_http_requests_total", labels); got != tc.want {
			t.Errorf("requests%v = %v, want %v", labels, got, tc.want)
		}
	}
	h := series(t, fams, "keyward_http_request_duration_seconds",
		map[string]string{"route": "/v1/keys/:id", "method": "GET"}).GetHistogram()
	if h.GetSampleCount() != 2 {
		t.Errorf("GET /v1/keys/:id durations: %d, want 2", h.GetSampleCount())
	}
}

// Values off the allow-lists, as a careless caller might pass them: key ids, user ids,
// request paths, caller-chosen methods. None may reach a label.
func TestLabels_ValuesOffTheAllowListsBecomeOther(t *testing.T) {
	const secret = "kw_live_TxYlFWqAvd2vkmAHTSV9Vo7HvPkakvwn4Cmckl7fCfiY_0WsSt3"
	const userID = "8c0c5f6e-7d1b-4c8e-9a57-2f1d8a9e4b10"
	for _, tc := range []struct {
		name   string
		record func(m *Metrics)
		family string
		labels map[string]string
	}{
		{"outcome", func(m *Metrics) { m.ObserveExchange(secret, "token", time.Millisecond) },
			"keyward_exchanges_total", map[string]string{"outcome": "other", "via": "token"}},
		{"via", func(m *Metrics) { m.ObserveExchange("issued", secret, time.Millisecond) },
			"keyward_exchanges_total", map[string]string{"outcome": "issued", "via": "other"}},
		{"keycloak op", func(m *Metrics) { m.ObserveKeycloak(userID, time.Millisecond, errors.New("x")) },
			"keyward_keycloak_errors_total", map[string]string{"op": "other"}},
		{"denial reason", func(m *Metrics) { m.Denied("key " + userID) },
			"keyward_exchange_denials_total", map[string]string{"reason": "other"}},
		{"database op", func(m *Metrics) { m.DatabaseError("SELECT * FROM keys WHERE id='" + userID + "'") },
			"keyward_database_errors_total", map[string]string{"op": "other"}},
		{"request path instead of template", func(m *Metrics) { m.HTTPRequest("/v1/keys/"+userID, "GET", 200, 0) },
			"keyward_http_requests_total", map[string]string{"route": "other", "method": "GET", "code": "200"}},
		{"empty route", func(m *Metrics) { m.HTTPRequest("", "GET", 404, 0) },
			"keyward_http_requests_total", map[string]string{"route": "other", "method": "GET", "code": "404"}},
		{"caller-chosen method", func(m *Metrics) { m.HTTPRequest("/v1/token", secret, 405, 0) },
			"keyward_http_requests_total", map[string]string{"route": "/v1/token", "method": "other", "code": "405"}},
		{"impossible status", func(m *Metrics) { m.HTTPRequest("/v1/token", "POST", 1000, 0) },
			"keyward_http_requests_total", map[string]string{"route": "/v1/token", "method": "POST", "code": "other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			tc.record(m)
			fams, body := scrape(t, m)
			if got := counter(t, fams, tc.family, tc.labels); got != 1 {
				t.Errorf("%s%v = %v, want 1", tc.family, tc.labels, got)
			}
			for _, leaked := range []string{secret, userID, "kw_live"} {
				if strings.Contains(body, leaked) {
					t.Errorf("the scrape contains %q", leaked)
				}
			}
		})
	}
}

func TestNew_CountersStartAtZero_WithGoAndProcessCollectors(t *testing.T) {
	fams, _ := scrape(t, New())
	if got := counter(t, fams, "keyward_exchanges_total", map[string]string{"outcome": "unavailable", "via": "forward_auth"}); got != 0 {
		t.Errorf("unavailable before any exchange = %v, want 0", got)
	}
	if got := counter(t, fams, "keyward_token_cache_requests_total", map[string]string{"result": "miss"}); got != 0 {
		t.Errorf("misses before any look-up = %v, want 0", got)
	}
	if got := counter(t, fams, "keyward_keycloak_errors_total", map[string]string{"op": "jwt_bearer_grant"}); got != 0 {
		t.Errorf("Keycloak errors before any call = %v, want 0", got)
	}
	if got := counter(t, fams, "keyward_database_errors_total", map[string]string{"op": "key_lookup"}); got != 0 {
		t.Errorf("database errors before any look-up = %v, want 0", got)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s: Go or process collector missing", name)
		}
	}
}

func TestNew_RegistriesAreIndependent(t *testing.T) {
	a, b := New(), New() // a global registry would panic here on duplicate registration
	a.CacheHit()
	fams, _ := scrape(t, b)
	if got := counter(t, fams, "keyward_token_cache_requests_total", map[string]string{"result": "hit"}); got != 0 {
		t.Fatalf("a hit on one Metrics shows on another: %v", got)
	}
}

func TestNilMetrics_RecordsNothingAndDoesNotPanic(t *testing.T) {
	var m *Metrics
	m.ObserveExchange("issued", "token", time.Millisecond)
	m.ObserveKeycloak("jwt_bearer_grant", time.Millisecond, nil)
	m.CacheHit()
	m.CacheMiss()
	m.Denied("rate_limited")
	m.DatabaseError("key_lookup")
	m.HTTPRequest("/v1/token", "POST", 200, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("nil Metrics' handler answered %d, want 404", rec.Code)
	}
}

// The metrics reference is generated from Families: every registered family of
// Keyward's must be there, histograms without an observation included.
func TestFamilies_EveryRegisteredFamily(t *testing.T) {
	fams, err := Families()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Family{}
	for _, f := range fams {
		byName[f.Name] = f
	}
	for name, typ := range map[string]string{
		"keyward_exchanges_total":                   "counter",
		"keyward_exchange_duration_seconds":         "histogram",
		"keyward_http_request_duration_seconds":     "histogram",
		"keyward_key_state_in_memory":               "gauge",
		"keyward_retention_pruned_rows_total":       "counter",
		"keyward_keycloak_request_duration_seconds": "histogram",
	} {
		if f, ok := byName[name]; !ok || f.Type != typ || f.Help == "" {
			t.Errorf("%s: got %+v, want a %s with its help", name, f, typ)
		}
	}
	if got := byName["keyward_http_requests_total"].Labels; !slices.Equal(got, []string{"code", "method", "route"}) {
		t.Errorf("keyward_http_requests_total labels %v", got)
	}
}
