package client

// The management API for Go programs and the keyward command line: keys, and for admins
// consumers, OAuth clients and ACL groups. Calls carry a person's Keycloak access token
// (not an API key: the API refuses those), from any oauth2.TokenSource.
//
//	m, err := client.NewManager(client.ManagerConfig{URL: "https://keyward.example.com", TokenSource: ts})
//	created, err := m.CreateKey(ctx, client.KeyCreate{Name: "ci"})
//
// Errors of the API (RFC 9457 problem+json) come back as *APIError, one line of text,
// classified for errors.Is (ErrNotFound, ErrForbidden, …).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/keyward/keyward/api"
)

// ManagerConfig configures a Manager. URL and TokenSource are required.
type ManagerConfig struct {
	URL string
	// TokenSource gives the caller's Keycloak access tokens (audience Keyward).
	TokenSource oauth2.TokenSource
	// HTTPClient makes the calls; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// AllowInsecureHTTP accepts an http:// URL of another machine (see Config).
	AllowInsecureHTTP bool
}

// Manager calls Keyward's management API. It is safe for concurrent use.
type Manager struct {
	base  string
	ts    oauth2.TokenSource
	httpc *http.Client
}

// NewManager returns a Manager for cfg. It makes no network call.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	base, err := checkURL("the Keyward URL", cfg.URL, "access tokens", cfg.AllowInsecureHTTP)
	if err != nil {
		return nil, fmt.Errorf("keyward client: %w", err)
	}
	if cfg.TokenSource == nil {
		return nil, errors.New("keyward client: no TokenSource")
	}
	return &Manager{base: base.String(), ts: cfg.TokenSource, httpc: noRedirects(cfg.HTTPClient)}, nil
}

// noRedirects copies hc (or a default client) so that it never follows a redirect: a
// bearer token is for the configured URL only.
func noRedirects(hc *http.Client) *http.Client {
	c := http.Client{Timeout: defaultTimeout}
	if hc != nil {
		c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Errors of the management API, for errors.Is; ErrRateLimited and ErrUnavailable are
// the exchange's own sentinels.
var (
	ErrUnauthorized = errors.New("not authenticated")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid request")
)

// FieldError names one invalid field of a request.
type FieldError = api.FieldError

// APIError is a refused management call: the problem document, in one line of text.
type APIError struct {
	StatusCode int
	Title      string
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration // of a 429 or 503; 0 when absent

	kind  error
	cause error
}

func (e *APIError) Error() string {
	var b strings.Builder
	switch {
	case len(e.Fields) > 0:
		parts := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			parts[i] = printable(f.Field) + ": " + printable(f.Message)
		}
		b.WriteString("invalid input: " + strings.Join(parts, "; "))
	case e.Detail != "":
		b.WriteString(printable(e.Detail))
	case e.Title != "":
		b.WriteString(printable(e.Title))
	case e.kind != nil:
		b.WriteString(e.kind.Error())
	default:
		b.WriteString("unexpected answer")
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.cause != nil {
		b.WriteString(": " + e.cause.Error())
	}
	return b.String()
}

// Unwrap exposes the sentinel and the transport error, if any.
func (e *APIError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// printable keeps a server's words from steering a terminal: control and invisible
// format characters become '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, s)
}

// rawSetter is a response type that keeps the object as the API sent it.
type rawSetter[T any] interface {
	*T
	setRaw(json.RawMessage)
}

func decodeOne[T any, P rawSetter[T]](raw []byte) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("keyward: unexpected answer: %w", err)
	}
	P(&v).setRaw(append(json.RawMessage(nil), raw...))
	return v, nil
}

// Page is one page of a list; NextCursor is "" on the last one.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

func decodePage[T any, P rawSetter[T]](raw []byte) (Page[T], error) {
	var env api.Page[json.RawMessage]
	if err := json.Unmarshal(raw, &env); err != nil {
		return Page[T]{}, fmt.Errorf("keyward: unexpected answer: %w", err)
	}
	out := Page[T]{Items: make([]T, 0, len(env.Items))}
	if env.NextCursor != nil {
		out.NextCursor = *env.NextCursor
	}
	for _, item := range env.Items {
		v, err := decodeOne[T, P](item)
		if err != nil {
			return Page[T]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// call makes one request and returns the body of a 2xx answer.
func (m *Manager) call(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	tok, err := m.ts.Token()
	if err != nil {
		return nil, fmt.Errorf("keyward: access token: %w", err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("keyward: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	u := m.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("keyward: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.httpc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("keyward: %w", ctxErr)
		}
		return nil, &APIError{kind: ErrUnavailable, Detail: "cannot reach Keyward", cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8*maxResponseBytes))
	if err != nil {
		return nil, &APIError{kind: ErrUnavailable, StatusCode: resp.StatusCode, Detail: "reading Keyward's answer failed", cause: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return raw, nil
	}
	return nil, problemError(resp, raw)
}

// problemError turns a refused call into an APIError; a body that is not a problem
// document (a proxy's page) is still classified by status.
func problemError(resp *http.Response, raw []byte) *APIError {
	var p api.Problem
	_ = json.Unmarshal(raw, &p)
	e := &APIError{StatusCode: resp.StatusCode, Title: p.Title, Detail: p.Detail, Fields: p.Errors,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		e.Detail = "the Keyward URL answered with a redirect, which is not followed: configure Keyward's own URL"
	case s == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case s == http.StatusForbidden:
		e.kind = ErrForbidden
	case s == http.StatusNotFound:
		e.kind = ErrNotFound
	case s == http.StatusConflict:
		e.kind = ErrConflict
	case s == http.StatusTooManyRequests:
		e.kind = ErrRateLimited
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		e.kind = ErrInvalid
	case s >= 500:
		e.kind = ErrUnavailable
	}
	return e
}

func one[T any, P rawSetter[T]](ctx context.Context, m *Manager, method, path string, query url.Values, body any) (T, error) {
	raw, err := m.call(ctx, method, path, query, body)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeOne[T, P](raw)
}

func list[T any, P rawSetter[T]](ctx context.Context, m *Manager, path string, query url.Values) (Page[T], error) {
	raw, err := m.call(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return Page[T]{}, err
	}
	return decodePage[T, P](raw)
}

func (m *Manager) remove(ctx context.Context, path string, query url.Values) error {
	_, err := m.call(ctx, http.MethodDelete, path, query, nil)
	return err
}

// values builds a query of the non-empty pairs.
func values(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

func limitValue(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// --- keys ---

// The key types are package api's, the wire contract the server declares too; a
// response type adds Raw, the object exactly as the API sent it (-o json).
type (
	RateLimit   = api.RateLimit
	AdminSet    = api.AdminSet
	KeyCreate   = api.KeyCreate // give one expiry form at most
	KeyUpdate   = api.KeyUpdate // changes the fields that are not nil; Metadata "null" clears it
	UsageTotals = api.UsageTotals
	RouteUsage  = api.UsageCounts
	DayUsage    = api.DayUsage
)

// The routes a key is exchanged through, the keys of UsageTotals.ByVia.
const (
	ViaToken       = api.ViaToken
	ViaForwardAuth = api.ViaForwardAuth
)

// Key is an API key as the API shows it: never its secret.
type Key struct {
	api.Key
	Raw json.RawMessage `json:"-"`
}

func (k *Key) setRaw(r json.RawMessage) { k.Raw = r }

// CreatedKey is a new key with its text (Plaintext), which only this answer carries.
type CreatedKey struct {
	api.CreatedKey
	Raw json.RawMessage `json:"-"`
}

func (k *CreatedKey) setRaw(r json.RawMessage) { k.Raw = r }

// KeyQuery filters a key list; zero values are left out.
type KeyQuery struct {
	Owner, Q, Status, Environment, Expires, Sort, Order, Cursor string
	Limit                                                       int
	Consumer                                                    string // admins: a consumer's keys
}

// KeyUsage is a key's exchanges per day of the period and this month.
type KeyUsage struct {
	api.KeyUsage
	Raw json.RawMessage `json:"-"`
}

func (u *KeyUsage) setRaw(r json.RawMessage) { u.Raw = r }

// CreateKey creates a key; the answer alone carries its text.
func (m *Manager) CreateKey(ctx context.Context, in KeyCreate) (CreatedKey, error) {
	return one[CreatedKey](ctx, m, http.MethodPost, "/v1/keys", nil, in)
}

// ListKeys returns one page of keys: the caller's, or for admins anyone's (Owner).
func (m *Manager) ListKeys(ctx context.Context, q KeyQuery) (Page[Key], error) {
	return list[Key](ctx, m, "/v1/keys", values("owner", q.Owner, "consumer", q.Consumer, "q", q.Q, "status", q.Status,
		"environment", q.Environment, "expires", q.Expires, "sort", q.Sort, "order", q.Order,
		"limit", limitValue(q.Limit), "cursor", q.Cursor))
}

// Key reads one key by id.
func (m *Manager) Key(ctx context.Context, id string) (Key, error) {
	return one[Key](ctx, m, http.MethodGet, "/v1/keys/"+url.PathEscape(id), nil, nil)
}

// UpdateKey changes a key.
func (m *Manager) UpdateKey(ctx context.Context, id string, in KeyUpdate) (Key, error) {
	return one[Key](ctx, m, http.MethodPatch, "/v1/keys/"+url.PathEscape(id), nil, in)
}

// RotateKey issues the key's successor; the old key works until grace has passed (nil:
// the server's default, 7 days). The answer alone carries the new key's text.
func (m *Manager) RotateKey(ctx context.Context, id string, grace *time.Duration) (CreatedKey, error) {
	var body any
	if grace != nil {
		body = map[string]int{"grace_period_hours": int(grace.Hours())}
	}
	return one[CreatedKey](ctx, m, http.MethodPost, "/v1/keys/"+url.PathEscape(id)+"/rotate", nil, body)
}

// RevokeKey revokes a key: the exchange refuses it from now on.
func (m *Manager) RevokeKey(ctx context.Context, id string) error {
	return m.remove(ctx, "/v1/keys/"+url.PathEscape(id), nil)
}

// KeyUsage reads a key's usage over the last days (0: the server's default, 30).
func (m *Manager) KeyUsage(ctx context.Context, id string, days int) (KeyUsage, error) {
	return one[KeyUsage](ctx, m, http.MethodGet, "/v1/keys/"+url.PathEscape(id)+"/usage", values("days", limitValue(days)), nil)
}

// --- consumers (admins) ---

// Consumer is an application or team that calls the APIs.
type Consumer struct {
	api.Consumer
	Raw json.RawMessage `json:"-"`
}

func (c *Consumer) setRaw(r json.RawMessage) { c.Raw = r }

type (
	ConsumerCreate = api.ConsumerCreate
	ConsumerUpdate = api.ConsumerUpdate // changes the fields that are not nil
)

// ConsumerQuery filters a consumer list.
type ConsumerQuery struct {
	Q, Environment, Sort, Cursor string
	Limit                        int
}

func (m *Manager) CreateConsumer(ctx context.Context, in ConsumerCreate) (Consumer, error) {
	return one[Consumer](ctx, m, http.MethodPost, "/v1/consumers", nil, in)
}

func (m *Manager) ListConsumers(ctx context.Context, q ConsumerQuery) (Page[Consumer], error) {
	return list[Consumer](ctx, m, "/v1/consumers", values("q", q.Q, "environment", q.Environment, "sort", q.Sort,
		"limit", limitValue(q.Limit), "cursor", q.Cursor))
}

func (m *Manager) Consumer(ctx context.Context, id string) (Consumer, error) {
	return one[Consumer](ctx, m, http.MethodGet, "/v1/consumers/"+url.PathEscape(id), nil, nil)
}

func (m *Manager) UpdateConsumer(ctx context.Context, id string, in ConsumerUpdate) (Consumer, error) {
	return one[Consumer](ctx, m, http.MethodPatch, "/v1/consumers/"+url.PathEscape(id), nil, in)
}

// DeleteConsumer deletes a consumer; with cascade, its clients too.
func (m *Manager) DeleteConsumer(ctx context.Context, id string, cascade bool) error {
	var q url.Values
	if cascade {
		q = values("cascade", "true")
	}
	return m.remove(ctx, "/v1/consumers/"+url.PathEscape(id), q)
}

// --- OAuth clients (admins) ---

// ConsumerRef names a client's consumer.
type ConsumerRef = api.ConsumerRef

// Client is a confidential service-account client provisioned in Keycloak.
type Client struct {
	api.Client
	Raw json.RawMessage `json:"-"`
}

func (c *Client) setRaw(r json.RawMessage) { c.Raw = r }

// CreatedClient is a new client with its secret, which only this answer carries.
type CreatedClient struct {
	api.CreatedClient
	Raw json.RawMessage `json:"-"`
}

func (c *CreatedClient) setRaw(r json.RawMessage) { c.Raw = r }

type (
	ClientCreate = api.ClientCreate // an empty ClientID is made from the consumer's name
	ClientUpdate = api.ClientUpdate // changes the fields that are not nil
)

// ClientQuery filters a client list (Consumer: a consumer id).
type ClientQuery struct {
	Consumer, Environment, Q, Sort, Cursor string
	Enabled                                *bool
	Limit                                  int
}

// ClientSecret is a client's current secret.
type ClientSecret struct {
	api.ClientSecret
	Raw json.RawMessage `json:"-"`
}

func (s *ClientSecret) setRaw(r json.RawMessage) { s.Raw = r }

// ClientTest is the outcome of a client-credentials grant with a given secret.
type ClientTest struct {
	api.ClientTest
	Raw json.RawMessage `json:"-"`
}

func (t *ClientTest) setRaw(r json.RawMessage) { t.Raw = r }

// CreateClient provisions a client for the consumer (by id).
func (m *Manager) CreateClient(ctx context.Context, consumerID string, in ClientCreate) (CreatedClient, error) {
	return one[CreatedClient](ctx, m, http.MethodPost, "/v1/consumers/"+url.PathEscape(consumerID)+"/clients", nil, in)
}

func (m *Manager) ListClients(ctx context.Context, q ClientQuery) (Page[Client], error) {
	enabled := ""
	if q.Enabled != nil {
		enabled = strconv.FormatBool(*q.Enabled)
	}
	return list[Client](ctx, m, "/v1/clients", values("consumer", q.Consumer, "environment", q.Environment,
		"enabled", enabled, "q", q.Q, "sort", q.Sort, "limit", limitValue(q.Limit), "cursor", q.Cursor))
}

func (m *Manager) Client(ctx context.Context, id string) (Client, error) {
	return one[Client](ctx, m, http.MethodGet, "/v1/clients/"+url.PathEscape(id), nil, nil)
}

func (m *Manager) UpdateClient(ctx context.Context, id string, in ClientUpdate) (Client, error) {
	return one[Client](ctx, m, http.MethodPatch, "/v1/clients/"+url.PathEscape(id), nil, in)
}

func (m *Manager) DeleteClient(ctx context.Context, id string) error {
	return m.remove(ctx, "/v1/clients/"+url.PathEscape(id), nil)
}

// ClientSecret shows a client's secret (the view is audited).
func (m *Manager) ClientSecret(ctx context.Context, id string) (ClientSecret, error) {
	return one[ClientSecret](ctx, m, http.MethodGet, "/v1/clients/"+url.PathEscape(id)+"/secret", nil, nil)
}

// RegenerateClientSecret replaces a client's secret; the old one stops working at once.
func (m *Manager) RegenerateClientSecret(ctx context.Context, id string) (ClientSecret, error) {
	return one[ClientSecret](ctx, m, http.MethodPost, "/v1/clients/"+url.PathEscape(id)+"/secret", nil, nil)
}

// TestClient asks Keycloak for a client-credentials token with secret.
func (m *Manager) TestClient(ctx context.Context, id, secret string) (ClientTest, error) {
	return one[ClientTest](ctx, m, http.MethodPost, "/v1/clients/"+url.PathEscape(id)+"/test", nil,
		api.ClientTestRequest{Secret: secret})
}

// --- ACL groups (admins) ---

// ACLGroup is a Keycloak group under the ACL parent: tokens carry its name in acl_groups.
type ACLGroup struct {
	api.ACLGroup
	Raw json.RawMessage `json:"-"`
}

func (g *ACLGroup) setRaw(r json.RawMessage) { g.Raw = r }

// ListACLGroups returns every ACL group (one page).
func (m *Manager) ListACLGroups(ctx context.Context) ([]ACLGroup, error) {
	p, err := list[ACLGroup](ctx, m, "/v1/acl-groups", nil)
	return p.Items, err
}

func (m *Manager) CreateACLGroup(ctx context.Context, name, description string) (ACLGroup, error) {
	return one[ACLGroup](ctx, m, http.MethodPost, "/v1/acl-groups", nil,
		api.ACLGroupCreate{Name: name, Description: description})
}

func (m *Manager) DeleteACLGroup(ctx context.Context, name string) error {
	return m.remove(ctx, "/v1/acl-groups/"+url.PathEscape(name), nil)
}
