package api

// Token-exchange vocabulary (RFC 8693) of POST /v1/token.
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAPIKey    = "urn:keyward:params:oauth:token-type:api-key"
	TokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// OAuthErrorCodes are the RFC 6749 §5.2 error codes the token endpoint and the
// forward-auth door answer.
var OAuthErrorCodes = []string{"invalid_request", "invalid_grant", "unsupported_grant_type", "invalid_scope", "invalid_target",
	"rate_limited", "temporarily_unavailable", "server_error"}

// Token is the success body of /v1/token (RFC 6749 §5.1).
type Token struct {
	AccessToken     string `json:"access_token" doc:"JWT issued and signed by Keycloak"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int    `json:"expires_in"`
	IssuedTokenType string `json:"issued_token_type"`
	Scope           string `json:"scope" doc:"granted scopes"`
}

func (Token) Rules() Rules {
	return Rules{"access_token": {MinLen: 1}, "token_type": {Enum: []string{"Bearer"}},
		"issued_token_type": {Enum: []string{TokenTypeAccess}}}
}

// OAuthError is an RFC 6749 §5.2 error body.
type OAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty" doc:"what is wrong"`
}

func (OAuthError) Rules() Rules { return Rules{"error": {Enum: OAuthErrorCodes}} }
