package handlers

import (
	"errors"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/exchange"
)

func oauthFail(c *gin.Context, status int, code, desc string) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `ApiKey realm="keyward"`)
	}
	c.AbortWithStatusJSON(status, api.OAuthError{Error: code, Description: desc})
}

// invalidKey is the one answer for every refused key, so that unknown, expired,
// disabled and revoked keys cannot be told apart from outside.
const invalidKey = "the API key is invalid, expired or revoked"

// verdict is how an exchange is answered, whatever the route's wire form: its status,
// RFC 6749 error code and description, and Retry-After in seconds (0: none).
type verdict struct {
	status     int
	code, desc string
	retryAfter int
}

// retryAfter is a wait in whole seconds, at least one.
func retryAfter(wait time.Duration) int { return max(1, int((wait+time.Second-1)/time.Second)) }

func tooMany(wait time.Duration, why string) verdict {
	secs := retryAfter(wait)
	return verdict{http.StatusTooManyRequests, "rate_limited", why + "; retry after " + strconv.Itoa(secs) + " s", secs}
}

// trade runs the exchange pipeline for req — limits, IP allowlist, scopes, failure
// throttle, usage, metrics, token cache — and maps its outcome to a verdict: the one
// pipeline /v1/token and /v1/forward-auth share, so that neither route can answer a
// key differently.
func (s *server) trade(c *gin.Context, req exchange.Request) (exchange.Result, verdict) {
	res := s.Exchanger.Exchange(c.Request.Context(), req)
	c.Set("outcome", res.Outcome) // the access log's route tells the door from /v1/token
	refused := verdict{status: http.StatusUnauthorized, code: "invalid_grant", desc: invalidKey}
	switch res.Outcome {
	case exchange.OutcomeIssued:
		return res, verdict{status: http.StatusOK}
	case exchange.OutcomeRateLimited:
		return res, tooMany(res.RetryAfter, "the key's rate limit is exhausted")
	case exchange.OutcomeThrottled:
		return res, tooMany(res.RetryAfter, "too many failed exchanges from this address")
	case exchange.OutcomeDeniedRole, exchange.OutcomeNotPerson, exchange.OutcomeOutsideLimit:
		// The realm would have handed out more power than a key may carry: loud in
		// the log, the same refusal as any other outside.
		s.Log.Warn("issued token withheld", zap.String("request_id", requestID(c)), zap.String("via", req.Via),
			zap.String("outcome", string(res.Outcome)), zap.String("key_id", res.KeyID), zap.Error(res.Err))
		return res, refused
	case exchange.OutcomeInvalidScope:
		return res, verdict{status: http.StatusBadRequest, code: "invalid_scope", desc: "the requested scope exceeds the key's scopes"}
	case exchange.OutcomeUnavailable:
		s.Log.Warn("exchange dependency unavailable", zap.String("request_id", requestID(c)), zap.String("via", req.Via), zap.Error(res.Err))
		return res, verdict{http.StatusServiceUnavailable, "temporarily_unavailable", "an upstream service cannot be reached; try again shortly", 5}
	case exchange.OutcomeError:
		s.Log.Error("exchange failed", zap.String("request_id", requestID(c)), zap.String("via", req.Via), zap.Error(res.Err))
		return res, verdict{status: http.StatusInternalServerError, code: "server_error", desc: "an internal error occurred; quote request id " + requestID(c)}
	}
	if res.Err != nil {
		s.Log.Info("key refused", zap.String("request_id", requestID(c)), zap.String("via", req.Via),
			zap.String("outcome", string(res.Outcome)), zap.Error(res.Err))
	}
	return res, refused
}

// token is the OAuth 2.0 token endpoint: an API key in, a Keycloak access token out.
func (s *server) token(c *gin.Context) {
	req, ok := s.tokenRequest(c)
	if !ok {
		return
	}
	res, v := s.trade(c, req)
	if v.status != http.StatusOK {
		if v.retryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(v.retryAfter))
		}
		oauthFail(c, v.status, v.code, v.desc)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, api.Token{
		AccessToken:     res.Token.AccessToken,
		TokenType:       "Bearer",
		ExpiresIn:       res.Token.ExpiresIn,
		IssuedTokenType: api.TokenTypeAccess,
		Scope:           res.Token.Scope,
	})
}

// tokenRequest reads the key from X-API-Key, Authorization: ApiKey, or the RFC 8693
// form, and refuses ambiguous or malformed requests before any look-up.
func (s *server) tokenRequest(c *gin.Context) (exchange.Request, bool) {
	var req exchange.Request
	fail := func(p *tokenProblem) (exchange.Request, bool) {
		oauthFail(c, p.status, p.code, p.desc)
		return req, false
	}
	fromHeader, p := headerKey(c)
	if p != nil {
		return fail(p)
	}
	form, p := tokenForm(c)
	if p != nil {
		return fail(p)
	}
	if req.APIKey, p = formKey(form, fromHeader); p != nil {
		return fail(p)
	}
	scope, err := exchange.NormalizeScope(form.Get("scope"))
	if err != nil {
		return fail(&tokenProblem{http.StatusBadRequest, "invalid_scope", err.Error()})
	}
	req.Scope = scope
	req.ClientIP = clientAddr(c)
	req.Via = exchange.ViaToken
	return req, true
}

// clientAddr is the caller's address as gin resolves it: the socket peer, or behind a
// trusted proxy the right-most untrusted X-Forwarded-For entry. Never a header of an
// untrusted peer.
func clientAddr(c *gin.Context) netip.Addr {
	ip, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// tokenProblem is an RFC 6749 error answer to a malformed token request.
type tokenProblem struct {
	status     int
	code, desc string
}

func badTokenRequest(desc string) *tokenProblem {
	return &tokenProblem{http.StatusBadRequest, "invalid_request", desc}
}

// headerKey is the key of X-API-Key or Authorization: ApiKey, "" when neither is sent.
func headerKey(c *gin.Context) (string, *tokenProblem) {
	key := c.GetHeader("X-API-Key")
	auth := c.GetHeader("Authorization")
	if auth == "" {
		return key, nil
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	switch {
	case !strings.EqualFold(scheme, "ApiKey"):
		return "", badTokenRequest("use Authorization: ApiKey <key>, X-API-Key, or the token-exchange form")
	case key != "":
		return "", badTokenRequest("send the API key once, not in two headers")
	}
	return strings.TrimSpace(rest), nil
}

// tokenForm parses the form body (if any), each parameter at most once.
func tokenForm(c *gin.Context) (url.Values, *tokenProblem) {
	if c.Request.ContentLength != 0 && c.Request.Body != http.NoBody {
		mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if mt != "application/x-www-form-urlencoded" {
			return nil, badTokenRequest("the token request must be application/x-www-form-urlencoded")
		}
	}
	if err := c.Request.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, &tokenProblem{http.StatusRequestEntityTooLarge, "invalid_request", "request bodies are limited to 64 KiB"}
		}
		return nil, badTokenRequest("the form body is malformed")
	}
	for name, vals := range c.Request.PostForm {
		if len(vals) > 1 {
			return nil, badTokenRequest("parameter " + name + " is repeated")
		}
	}
	return c.Request.PostForm, nil
}

// formKey is the presented key: the RFC 8693 form's subject_token, or the header's.
func formKey(form url.Values, fromHeader string) (string, *tokenProblem) {
	grant := form.Get("grant_type")
	key := fromHeader
	switch {
	case grant == "" && hasOtherThan(form, "scope"):
		return "", badTokenRequest("grant_type is required with a token-exchange form")
	case grant != "" && grant != api.GrantTokenExchange:
		return "", &tokenProblem{http.StatusBadRequest, "unsupported_grant_type", "only " + api.GrantTokenExchange + " is supported"}
	case grant != "" && form.Get("subject_token") == "":
		return "", badTokenRequest("subject_token is required")
	case grant != "" && form.Get("subject_token_type") != api.TokenTypeAPIKey:
		return "", badTokenRequest("subject_token_type must be " + api.TokenTypeAPIKey)
	case grant != "" && fromHeader != "":
		return "", badTokenRequest("send the API key once, in the header or in subject_token")
	case grant != "" && (form.Get("audience") != "" || form.Get("resource") != ""):
		return "", &tokenProblem{http.StatusBadRequest, "invalid_target", "audience and resource are not supported yet"}
	case grant != "":
		key = form.Get("subject_token")
	}
	if key == "" {
		return "", &tokenProblem{http.StatusUnauthorized, "invalid_grant", "an API key is required: X-API-Key header or the token-exchange form"}
	}
	return key, nil
}

func hasOtherThan(form map[string][]string, allowed string) bool {
	for name := range form {
		if name != allowed {
			return true
		}
	}
	return false
}

// --- OpenAPI ---

// tokenPaths documents the token endpoint: a form in, RFC 6749 JSON out.
func tokenPaths(doc *openapi3.T) {
	// The form is read as RFC 6749 reads forms: names it does not know are ignored.
	tokenForm := openapi3.NewObjectSchema()
	tokenForm.Properties = map[string]*openapi3.SchemaRef{
		"grant_type":         enum(api.GrantTokenExchange),
		"subject_token":      text("the API key", 1, 0),
		"subject_token_type": enum(api.TokenTypeAPIKey),
		"scope":              str("optional; may narrow the key's scopes"),
		"audience":           str("not supported: refused with invalid_target"),
		"resource":           str("not supported: refused with invalid_target"),
	}
	tokenOp := operation("exchangeToken", "Trade an API key for a Keycloak access token (RFC 8693 shape)", false,
		resp{status: 200, desc: "a Keycloak-issued access token", schema: responseSchema[api.Token]()},
		resp{status: 400, desc: "malformed request (RFC 6749 error)", schema: oauthErrorSchema},
		resp{status: 401, desc: "unknown, revoked, expired or disabled key, or an address outside its allowlist (RFC 6749 invalid_grant)", schema: oauthErrorSchema},
		resp{status: 413, desc: "body over 64 KiB", schema: oauthErrorSchema},
		resp{status: 429, desc: "the key's rate limit, or this address's failure budget, is exhausted; see Retry-After", schema: oauthErrorSchema},
		resp{status: 500, desc: "an internal error", schema: oauthErrorSchema},
		resp{status: 503, desc: "Keycloak or the database unavailable; see Retry-After", schema: oauthErrorSchema})
	tokenOp.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
		WithDescription("the token-exchange form; alternatively send X-API-Key or Authorization: ApiKey with no body").
		WithContent(openapi3.Content{"application/x-www-form-urlencoded": openapi3.NewMediaType().WithSchema(tokenForm)})}
	tokenOp.Parameters = openapi3.Parameters{
		{Value: openapi3.NewHeaderParameter("X-API-Key").WithSchema(openapi3.NewStringSchema())},
	}
	doc.Paths.Set(tokenRoute, &openapi3.PathItem{Post: tokenOp})
}
