package api

import "time"

// Bounds of OAuth clients.
const (
	// ClientIDPattern: OAuth client ids that need no escaping anywhere.
	ClientIDPattern    = `^[a-z0-9][a-z0-9._-]{2,99}$`
	ClientNameMax      = 100
	RedirectURIsMax    = 20
	RedirectURIMax     = 1000
	RedirectURIPattern = `^https?://[^\s\\*#]+$`
	ClientSecretMax    = 1024
	// ClientProtocol is the protocol of every provisioned client.
	ClientProtocol = "openid-connect"
)

// redirectURIs is a client's redirect URIs (the service also checks the hosts).
var redirectURIs = Rule{MaxItems: RedirectURIsMax, Unique: true,
	Items: &Rule{MinLen: 1, MaxLen: RedirectURIMax, Pattern: RedirectURIPattern}}

// ConsumerRef names a client's consumer.
type ConsumerRef struct {
	ID   string `json:"id"`
	Name string `json:"name" doc:"1..64 of a-z, 0-9, '.', '_', '-', unique"`
}

func (ConsumerRef) Rules() Rules {
	return Rules{"id": {Format: "uuid"}, "name": {Pattern: ConsumerNamePattern}}
}

// Client is a confidential service-account client provisioned in Keycloak.
type Client struct {
	ID           string      `json:"id"`
	ClientID     string      `json:"client_id" doc:"the OAuth client_id in Keycloak"`
	Name         string      `json:"name" doc:"up to 100 characters, one line"`
	Description  string      `json:"description" doc:"up to 255 characters (Keycloak stores it); no control, bidirectional or invisible characters but tab and line breaks"`
	Consumer     ConsumerRef `json:"consumer"`
	Environment  string      `json:"environment"`
	Realm        string      `json:"realm" doc:"the Keycloak realm"`
	Protocol     string      `json:"protocol"`
	ACLGroups    []string    `json:"acl_groups" doc:"the consumer's ACL groups: the acl_groups claim of the client's tokens"`
	Enabled      bool        `json:"enabled"`
	RedirectURIs []string    `json:"redirect_uris" doc:"standard flow is on only when there are some; https URLs (plain http only on 127.0.0.1, [::1] or localhost), no wildcard, fragment or user info"`
	KeycloakID   string      `json:"keycloak_id" doc:"Keycloak's internal id of the client"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
}

func (Client) Rules() Rules {
	return Rules{"id": {Format: "uuid"}, "client_id": {Pattern: ClientIDPattern}, "name": {MaxLen: ClientNameMax},
		"description": {MaxLen: KeycloakDescriptionMax}, "environment": {Enum: Environments},
		"protocol": {Enum: []string{ClientProtocol}}, "acl_groups": aclGroupList, "redirect_uris": redirectURIs}
}

// CreatedClient is a new client with its secret, which only this answer carries.
type CreatedClient struct {
	Client
	Secret string `json:"secret" doc:"the client secret; in this response only"`
}

func (CreatedClient) Rules() Rules { return Rules{"secret": {MinLen: 1}} }

// ClientCreate is a new client; an empty ClientID is made from the consumer's name.
type ClientCreate struct {
	ClientID     string   `json:"client_id,omitempty" doc:"3..100 of a-z, 0-9, '.', '_', '-', starting with a letter or digit; generated from the consumer's name when absent or empty"`
	Name         string   `json:"name,omitempty" doc:"up to 100 characters, one line; default the client_id"`
	Description  string   `json:"description,omitempty" doc:"up to 255 characters (Keycloak stores it); no control, bidirectional or invisible characters but tab and line breaks"`
	RedirectURIs []string `json:"redirect_uris,omitempty" doc:"the standard flow is on only with some; https URLs (plain http only on 127.0.0.1, [::1] or localhost), no wildcard, fragment or user info"`
}

func (ClientCreate) Rules() Rules {
	return Rules{"client_id": {Pattern: `^([a-z0-9][a-z0-9._-]{2,99})?$`}, "name": {MaxLen: ClientNameMax, Safe: SafeLine},
		"description": {MaxLen: KeycloakDescriptionMax, Safe: SafeMultiline}, "redirect_uris": redirectURIs}
}

// ClientUpdate changes the fields that are not nil (at least one).
type ClientUpdate struct {
	Name         *string   `json:"name,omitempty" doc:"1..100 characters, one line"`
	Description  *string   `json:"description,omitempty" doc:"up to 255 characters (Keycloak stores it); no control, bidirectional or invisible characters but tab and line breaks"`
	Enabled      *bool     `json:"enabled,omitempty"`
	RedirectURIs *[]string `json:"redirect_uris,omitempty" doc:"the new set; https URLs (plain http only on 127.0.0.1, [::1] or localhost), no wildcard, fragment or user info"`
}

func (ClientUpdate) Rules() Rules {
	return Rules{"name": {MinLen: 1, MaxLen: ClientNameMax, Safe: SafeLine},
		"description": {MaxLen: KeycloakDescriptionMax, Safe: SafeMultiline}, "redirect_uris": redirectURIs}
}

// ClientSecret is a client's current secret.
type ClientSecret struct {
	ClientID string `json:"client_id"`
	Secret   string `json:"secret" doc:"the client secret"`
}

func (ClientSecret) Rules() Rules {
	return Rules{"client_id": {Pattern: ClientIDPattern}, "secret": {MinLen: 1}}
}

// ClientTestRequest is the secret to try a client-credentials grant with.
type ClientTestRequest struct {
	Secret string `json:"secret" doc:"the secret to try, at most 1024 printable characters; never echoed"`
}

func (ClientTestRequest) Rules() Rules {
	return Rules{"secret": {Required: true, MinLen: 1, MaxLen: ClientSecretMax, Safe: SafeLine}}
}

// ClientTest is the outcome of a client-credentials grant with a given secret.
type ClientTest struct {
	Valid           bool           `json:"valid"`
	Error           string         `json:"error,omitempty" doc:"Keycloak's OAuth error when not valid, e.g. invalid_client"`
	ExpiresIn       int            `json:"expires_in"`
	Scope           string         `json:"scope" doc:"granted scopes"`
	ACLClaimPresent bool           `json:"acl_claim_present"`
	ACLGroups       []string       `json:"acl_groups" doc:"the token's acl_groups claim"`
	Header          map[string]any `json:"header" doc:"the token's JOSE header; null when no token was issued"`
	Payload         map[string]any `json:"payload" doc:"the token's claims; null when no token was issued"`
}

func (ClientTest) Rules() Rules {
	return Rules{"error": {MinLen: 1}, "header": {Nullable: true}, "payload": {Nullable: true}}
}
