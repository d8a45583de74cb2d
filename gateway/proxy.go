package gateway

// The `keyward proxy` sidecar: for every request it asks Keyward's /v1/forward-auth,
// then forwards to the upstream with the Keycloak token of the answer and without the
// key. It asks on every request, with no cache of its own: Keyward's token cache makes
// the call cheap, and a cache here would keep a revoked key working for its lifetime.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// HealthPath is answered by the sidecar itself, never by the upstream: a dot-directory
// no API serves, on the same listener, so probes need no second port.
const HealthPath = "/.keyward/healthz"

const (
	forwardAuthPath    = "/v1/forward-auth"
	forwardAuthTimeout = 10 * time.Second
	// A refusal from Keyward is a short problem or challenge; more is not Keyward.
	maxRefusalBytes = 64 << 10
	// Retry-After when Keyward cannot be reached: a caller should not hammer it.
	unreachableRetryAfter = "5"
	// How long a part of a known-length answer may wait in the proxy's buffer.
	knownLengthFlushInterval = 5 * time.Millisecond
	// ReverseProxy's own copy buffer size, now taken from a pool.
	copyBufferSize = 32 << 10
)

// ProxyConfig configures NewProxy. KeywardURL and Upstream are required.
type ProxyConfig struct {
	// KeywardURL is Keyward's base URL (KEYWARD_URL); the proxy calls
	// KeywardURL + /v1/forward-auth. Whether plain http is acceptable is the caller's
	// decision (the command applies the CLI's rule).
	KeywardURL string
	// Upstream is the API the requests go to, e.g. http://127.0.0.1:9000.
	Upstream string
	// KeywardTransport carries the forward-auth calls (10 s each at most); nil means a
	// copy of http.DefaultTransport that keeps more idle connections. A bare transport,
	// not a client: redirects are never followed (the key is for Keyward only), and the
	// client's per-request header copy for redirects is not paid.
	KeywardTransport http.RoundTripper
	// UpstreamTransport carries requests to the upstream; nil means a copy of
	// http.DefaultTransport that keeps more idle connections.
	UpstreamTransport http.RoundTripper
	// Log receives failures to reach Keyward or the upstream; nil discards them.
	Log *zap.Logger
}

type proxy struct {
	forwardAuthURL string
	keyward        http.RoundTripper
	upstream       *httputil.ReverseProxy
	log            *zap.Logger
}

// tokenKey carries the bearer token from the forward-auth answer to the Rewrite func.
type tokenKey struct{}

// NewProxy returns the sidecar's handler.
func NewProxy(cfg ProxyConfig) (http.Handler, error) {
	var problems []string
	keyward, err := baseURL("the Keyward URL", cfg.KeywardURL)
	if err != nil {
		problems = append(problems, err.Error())
	}
	upstream, err := baseURL("the upstream URL", cfg.Upstream)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("keyward proxy: %s", strings.Join(problems, "; "))
	}
	kt := cfg.KeywardTransport
	if kt == nil {
		kt = pooledTransport()
	}
	transport := cfg.UpstreamTransport
	if transport == nil {
		transport = pooledTransport()
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	p := &proxy{
		forwardAuthURL: strings.TrimRight(keyward.String(), "/") + forwardAuthPath,
		keyward:        kt,
		log:            log,
	}
	p.upstream = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream) // the query string goes through as it came, unread
			// Rewrite has already dropped the caller's Forwarded and X-Forwarded-*; the
			// sidecar is the first hop, so the caller's own claims about its address are
			// not passed on, in X-Real-IP either.
			pr.Out.Header.Del("X-Real-Ip")
			pr.SetXForwarded()
			StripKey(pr.Out.Header)
			pr.Out.Header.Set("Authorization", pr.In.Context().Value(tokenKey{}).(string))
		},
		Transport: transport,
		// Event streams and bodies of unknown length are flushed at every write whatever
		// this says (ReverseProxy's rule). A body of known length is flushed at most this
		// long after a write, so a slow download still reaches the caller as it comes,
		// while a small answer leaves in one write. -1 (flush every write) cost a second
		// write per answer, and its timer fires at once to flush the headers alone.
		FlushInterval: knownLengthFlushInterval,
		BufferPool:    copyBuffers{},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			// The error may quote the upstream URL with the caller's query: only its cause.
			p.log.Warn("upstream unreachable", zap.String("error", causeOf(err)))
			http.Error(w, "the upstream cannot be reached", http.StatusBadGateway)
		},
	}
	return p, nil
}

// pooledTransport is http.DefaultTransport keeping enough idle connections to one host
// (Keyward, the upstream) for a busy sidecar: the default 2 would open a new connection
// for most requests under load.
func pooledTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}

// copyBuffers lends ReverseProxy its body copy buffers: without it each request
// allocated 32 KiB, most of the sidecar's garbage. A buffer holds only bytes already
// sent on, and copyBuffer writes only what it has just read into it.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

func (copyBuffers) Get() []byte { return *copyBufferPool.Get().(*[]byte) }

func (copyBuffers) Put(b []byte) {
	if cap(b) == copyBufferSize {
		b = b[:copyBufferSize]
		copyBufferPool.Put(&b)
	}
}

// baseURL parses an http(s) URL with a host and no user info.
func baseURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, fmt.Errorf("%s is empty", name)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%s %q is not an http(s) URL", name, redacted(u, raw))
	case u.User != nil:
		return nil, fmt.Errorf("%s must not carry a user name or password", name)
	case u.Fragment != "" || u.RawQuery != "":
		return nil, fmt.Errorf("%s must have no query or fragment", name)
	}
	return u, nil
}

// redacted is raw with any password masked, for an error message.
func redacted(u *url.URL, raw string) string {
	if u != nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	bearer, ok := p.authorize(w, r)
	if !ok {
		return
	}
	p.upstream.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, bearer)))
}

// authorize asks Keyward about the request's key. It returns the Authorization value
// for the upstream, or writes Keyward's refusal (or a 502/503 of its own) and false.
func (p *proxy) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), forwardAuthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.forwardAuthURL, nil)
	if err != nil {
		p.fail(w, http.StatusBadGateway, "the forward-auth request could not be made", err)
		return "", false
	}
	// Only the key, in one form, read as Keyward reads it: nothing else of the
	// caller's credentials (a Basic user name, another token) leaves for Keyward.
	if key, ok := KeyFrom(r.Header); ok {
		req.Header.Set("X-API-Key", key)
	}
	req.Header.Set("X-Forwarded-For", clientIP(r))
	req.Header.Set("X-Forwarded-Proto", scheme(r))
	req.Header.Set("X-Forwarded-Host", r.Host)
	resp, err := p.keyward.RoundTrip(req)
	if err != nil {
		if r.Context().Err() != nil {
			return "", false // the caller left: nobody to answer
		}
		w.Header().Set("Retry-After", unreachableRetryAfter)
		p.fail(w, http.StatusServiceUnavailable, "Keyward cannot be reached: try again later", err)
		return "", false
	}
	defer func() {
		// Read what little is left, so the connection to Keyward is kept for the next
		// request (an unread body closes it); the 200 answer is empty.
		_, _ = io.CopyN(io.Discard, resp.Body, maxRefusalBytes)
		_ = resp.Body.Close()
	}()
	switch {
	case resp.StatusCode == http.StatusOK:
		auth := resp.Header.Get("Authorization")
		if tok, found := strings.CutPrefix(auth, "Bearer "); found && tok != "" && !strings.ContainsAny(tok, " \t\r\n") {
			return auth, true
		}
		p.fail(w, http.StatusBadGateway, "Keyward's answer carried no bearer token", errors.New("200 without a bearer token"))
	case relayed[resp.StatusCode]:
		relay(w, resp)
	default:
		p.fail(w, http.StatusBadGateway, "Keyward's answer was not understood", fmt.Errorf("forward-auth answered %d", resp.StatusCode))
	}
	return "", false
}

// relayed are forward-auth's refusals, which the caller gets as they are. Any other
// answer (a 404 from a KEYWARD_URL with a wrong path, a 500) is the operator's problem:
// a 502, and the status in the log.
var relayed = map[int]bool{
	http.StatusBadRequest: true, http.StatusUnauthorized: true, http.StatusForbidden: true,
	http.StatusTooManyRequests: true, http.StatusServiceUnavailable: true,
}

// relay writes Keyward's refusal as it came: the status, the challenges that make Excel
// and browsers ask for credentials, Retry-After, and the short body.
func relay(w http.ResponseWriter, resp *http.Response) {
	for _, name := range []string{"WWW-Authenticate", "Retry-After", "Content-Type", "Cache-Control"} {
		for _, v := range resp.Header.Values(name) {
			w.Header().Add(name, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxRefusalBytes))
}

func (p *proxy) fail(w http.ResponseWriter, status int, msg string, err error) {
	p.log.Warn("forward-auth failed", zap.Int("status", status), zap.String("error", causeOf(err)))
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}

// causeOf is an error's text without the URL a *url.Error quotes.
func causeOf(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// clientIP is the caller's address as the connection shows it: the sidecar is the first
// hop, so an X-Forwarded-For the caller sent is its own claim, not evidence.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
