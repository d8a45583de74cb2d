package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// keywardMetrics are the counters of Keyward's /metrics the report uses: the token
// cache, and Keyward's own time per exchange next to the time of its Keycloak call.
type keywardMetrics struct {
	cacheHit, cacheMiss        float64
	exchangeSum, exchangeCount float64 // keyward_exchange_duration_seconds{outcome="issued"}
	keycloakSum, keycloakCount float64 // keyward_keycloak_request_duration_seconds{op="jwt_bearer_grant"}
}

func (a keywardMetrics) minus(b keywardMetrics) keywardMetrics {
	return keywardMetrics{
		a.cacheHit - b.cacheHit, a.cacheMiss - b.cacheMiss,
		a.exchangeSum - b.exchangeSum, a.exchangeCount - b.exchangeCount,
		a.keycloakSum - b.keycloakSum, a.keycloakCount - b.keycloakCount,
	}
}

// ownSeconds is the mean time Keyward spent on an issued exchange outside its call to
// Keycloak (look-up, checks, signing, cache), from its own histograms' sums; ok is
// false when the window saw no exchange.
func (m keywardMetrics) ownSeconds() (float64, bool) {
	if m.exchangeCount <= 0 {
		return 0, false
	}
	own := m.exchangeSum / m.exchangeCount
	if m.keycloakCount > 0 {
		own -= m.keycloakSum / m.exchangeCount // a cache hit has no Keycloak call
	}
	return own, true
}

// scrape reads the target's Keyward /metrics; zero for Keycloak rows or on failure.
func (b *bench) scrape(ctx context.Context, t *target) keywardMetrics {
	if len(t.metricsAll) == 0 {
		return b.scrapeURL(ctx, t.metrics)
	}
	var sum keywardMetrics // the replicas' counters, added up
	for _, u := range t.metricsAll {
		m := b.scrapeURL(ctx, u)
		sum.cacheHit, sum.cacheMiss = sum.cacheHit+m.cacheHit, sum.cacheMiss+m.cacheMiss
		sum.exchangeSum, sum.exchangeCount = sum.exchangeSum+m.exchangeSum, sum.exchangeCount+m.exchangeCount
		sum.keycloakSum, sum.keycloakCount = sum.keycloakSum+m.keycloakSum, sum.keycloakCount+m.keycloakCount
	}
	return sum
}

func (b *bench) scrapeURL(ctx context.Context, metricsURL string) keywardMetrics {
	var m keywardMetrics
	if metricsURL == "" {
		return m
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return m
	}
	body, err := b.send(req, http.StatusOK)
	if err != nil {
		return m
	}
	return parseMetrics(body)
}

// parseMetrics reads the series the report uses from a /metrics answer.
func parseMetrics(body []byte) keywardMetrics {
	var m keywardMetrics
	series := map[string]*float64{
		`keyward_token_cache_requests_total{result="hit"}`:                       &m.cacheHit,
		`keyward_token_cache_requests_total{result="miss"}`:                      &m.cacheMiss,
		`keyward_exchange_duration_seconds_sum{outcome="issued"}`:                &m.exchangeSum,
		`keyward_exchange_duration_seconds_count{outcome="issued"}`:              &m.exchangeCount,
		`keyward_keycloak_request_duration_seconds_sum{op="jwt_bearer_grant"}`:   &m.keycloakSum,
		`keyward_keycloak_request_duration_seconds_count{op="jwt_bearer_grant"}`: &m.keycloakCount,
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if dst := series[name]; ok && dst != nil {
			*dst, _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
	}
	return m
}
