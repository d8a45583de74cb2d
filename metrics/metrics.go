// Package metrics is Keyward's Prometheus instrumentation: the exchange path, calls to
// Keycloak, the token cache, database errors and HTTP requests, on a registry of its own.
//
// Label values come only from the fixed allow-lists below; anything else is counted as
// "other". A label must never carry a key id, a user id or any text a caller chose: each
// distinct value is a new series kept in memory for the life of the process, and it
// would publish who uses Keyward to whoever can scrape /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// other stands for any value not on an allow-list.
const other = "other"

// Allow-lists. A value missing here is recorded as "other": add it here first.
var (
	// The exchange outcomes (exchange.Outcome).
	outcomes = set("issued", "malformed", "unknown_key", "expired", "inactive", "ip_denied",
		"rate_limited", "user_refused", "invalid_scope", "unavailable", "error",
		"denied_role", "owner_not_person", "throttled", "outside_limit")
	// The routes an exchange comes through (exchange.ViaToken, exchange.ViaForwardAuth).
	vias = set("token", "forward_auth")
	// Why an exchange was refused: the refusing outcomes.
	denialReasons = set("malformed", "unknown_key", "expired", "inactive", "ip_denied",
		"rate_limited", "user_refused", "invalid_scope", "denied_role", "owner_not_person", "throttled",
		"outside_limit")
	// Calls to Keycloak that are timed (exchange.Observer.ObserveKeycloak): only the
	// exchange's grant today.
	keycloakOps = set("jwt_bearer_grant")
	// Store operations whose failures are counted (exchange.Observer.DatabaseError):
	// only the exchange's key look-up today.
	databaseOps = set("key_lookup")
	// Route templates as gin's FullPath gives them, and "unmatched" for requests no
	// route matched (scans, typos).
	routes = set(
		"unmatched",
		"/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json",
		"/v1/token", "/v1/forward-auth", "/v1/forward-auth/*path",
		"/v1/keys", "/v1/keys/:id", "/v1/keys/:id/rotate", "/v1/keys/:id/usage",
		"/v1/audit",
		"/v1/acl-groups", "/v1/acl-groups/:name",
		"/v1/consumers", "/v1/consumers/:id", "/v1/consumers/:id/clients",
		"/v1/clients", "/v1/clients/:id", "/v1/clients/:id/secret", "/v1/clients/:id/test",
	)
	methods = set(http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions)
)

// latencyBuckets, in seconds, span 0.5 ms (a cached token, a limiter in memory) to 5 s
// (a Keycloak or database call near its timeout).
var latencyBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
}

// Metrics records Keyward's measurements. Its methods are safe for concurrent use, and
// do nothing on a nil *Metrics, so that code under test can run without one.
type Metrics struct {
	reg *prometheus.Registry

	exchanges         *prometheus.CounterVec
	exchangeDuration  *prometheus.HistogramVec
	keycloakDuration  *prometheus.HistogramVec
	keycloakErrors    *prometheus.CounterVec
	cacheRequests     *prometheus.CounterVec
	denials           *prometheus.CounterVec
	databaseErrors    *prometheus.CounterVec
	httpRequests      *prometheus.CounterVec
	httpDuration      *prometheus.HistogramVec
	aclWithRoles      prometheus.Gauge
	clientsUnrepaired prometheus.Gauge
	// pruned: retention.go.
	pruned *prometheus.CounterVec
}

// New returns Metrics on a fresh registry holding Keyward's series and the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		exchanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_exchanges_total",
			Help: "API key exchanges, by outcome and by the route they came through (token: /v1/token; forward_auth: a gateway's /v1/forward-auth).",
		}, []string{"outcome", "via"}),
		exchangeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyward_exchange_duration_seconds",
			Help:    "Time to answer an API key exchange, by outcome.",
			Buckets: latencyBuckets,
		}, []string{"outcome"}),
		keycloakDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyward_keycloak_request_duration_seconds",
			Help:    "Duration of calls to Keycloak, failed ones included, by operation.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		keycloakErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_keycloak_errors_total",
			Help: "Calls to Keycloak that failed, by operation.",
		}, []string{"op"}),
		cacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_token_cache_requests_total",
			Help: "Token cache look-ups, by result (hit or miss).",
		}, []string{"result"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_exchange_denials_total",
			Help: "Refused exchanges, by reason.",
		}, []string{"reason"}),
		databaseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_database_errors_total",
			Help: "Failed store operations, by operation.",
		}, []string{"op"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyward_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		clientsUnrepaired: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyward_clients_unrepaired",
			Help: "Keyward's clients that the last repair pass found full-scope, with role scope mappings or consent-free with redirect URIs, and could not repair; anything but 0 needs an admin.",
		}),
		aclWithRoles: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyward_acl_groups_with_roles",
			Help: "ACL groups that carry role mappings, their own or an ancestor's, as the last complete repair pass found them; anything but 0 needs an admin.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.exchanges, m.exchangeDuration, m.keycloakDuration, m.keycloakErrors,
		m.cacheRequests, m.denials, m.databaseErrors, m.httpRequests, m.httpDuration,
		m.aclWithRoles, m.clientsUnrepaired,
	)
	m.pruned = newPruned()
	m.reg.MustRegister(m.pruned)
	m.zeroSeries()
	return m
}

// zeroSeries starts the counters at 0 for every allowed label value, so that rate() and
// alerts see a series before its first event rather than nothing.
func (m *Metrics) zeroSeries() {
	for v := range outcomes {
		for via := range vias {
			m.exchanges.WithLabelValues(v, via)
		}
	}
	for v := range denialReasons {
		m.denials.WithLabelValues(v)
	}
	for v := range keycloakOps {
		m.keycloakErrors.WithLabelValues(v)
	}
	for v := range databaseOps {
		m.databaseErrors.WithLabelValues(v)
	}
	m.cacheRequests.WithLabelValues("hit")
	m.cacheRequests.WithLabelValues("miss")
	for v := range prunedTables {
		m.pruned.WithLabelValues(v)
	}
}

// Handler serves the registry in the Prometheus exposition formats, for GET /metrics.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveExchange counts one exchange under its outcome and route, and times it under
// its outcome (the duration histogram keeps one label: its series are many already).
func (m *Metrics) ObserveExchange(outcome, via string, d time.Duration) {
	if m == nil {
		return
	}
	outcome = allowed(outcomes, outcome)
	m.exchanges.WithLabelValues(outcome, allowed(vias, via)).Inc()
	m.exchangeDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// ObserveKeycloak records one call to Keycloak; a non-nil err counts it as failed.
func (m *Metrics) ObserveKeycloak(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	op = allowed(keycloakOps, op)
	m.keycloakDuration.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.keycloakErrors.WithLabelValues(op).Inc()
	}
}

// CacheHit counts a token served from the cache.
func (m *Metrics) CacheHit() {
	if m != nil {
		m.cacheRequests.WithLabelValues("hit").Inc()
	}
}

// CacheMiss counts a cache look-up that had to ask Keycloak.
func (m *Metrics) CacheMiss() {
	if m != nil {
		m.cacheRequests.WithLabelValues("miss").Inc()
	}
}

// Denied counts a refused exchange under its reason (an exchange outcome such as
// rate_limited or ip_denied).
func (m *Metrics) Denied(reason string) {
	if m != nil {
		m.denials.WithLabelValues(allowed(denialReasons, reason)).Inc()
	}
}

// DatabaseError counts a failed store operation.
func (m *Metrics) DatabaseError(op string) {
	if m != nil {
		m.databaseErrors.WithLabelValues(allowed(databaseOps, op)).Inc()
	}
}

// HTTPRequest records one answered request. route must be the route template (gin's
// c.FullPath(), e.g. "/v1/keys/:id"), never the request path, which holds ids.
func (m *Metrics) HTTPRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	route, method = allowed(routes, route), allowed(methods, method)
	code := other
	if status >= 100 && status <= 599 {
		code = strconv.Itoa(status)
	}
	m.httpRequests.WithLabelValues(route, method, code).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// SetACLGroupsWithRoles records how many ACL groups carry roles (provisioning's repair
// pass): their members get those roles, which an ACL group must never grant.
func (m *Metrics) SetACLGroupsWithRoles(n int) {
	if m != nil {
		m.aclWithRoles.Set(float64(n))
	}
}

// SetClientsUnrepaired records how many of Keyward's clients could carry users' roles
// or skip consent and could not be repaired (provisioning's repair pass).
func (m *Metrics) SetClientsUnrepaired(n int) {
	if m != nil {
		m.clientsUnrepaired.Set(float64(n))
	}
}

func allowed(list map[string]struct{}, v string) string {
	if _, ok := list[v]; ok {
		return v
	}
	return other
}

func set(values ...string) map[string]struct{} {
	s := make(map[string]struct{}, len(values))
	for _, v := range values {
		s[v] = struct{}{}
	}
	return s
}

// WatchKeyState publishes keyward_key_state_in_memory: 1 while the replica serves key
// state from memory (key changes are heard), 0 while every exchange reads the store.
func (m *Metrics) WatchKeyState(inMemory func() bool) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "keyward_key_state_in_memory",
		Help: "1 while key changes are heard and the exchange serves key state from memory; 0 while every exchange reads the store (notification connection down).",
	}, func() float64 {
		if inMemory() {
			return 1
		}
		return 0
	}))
}
