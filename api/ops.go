package api

// Discovery is what Keyward publishes for its clients (the CLI, scripts) at
// /.well-known/keyward-configuration, so that KEYWARD_URL is all a user sets.
type Discovery struct {
	Issuer      string `json:"issuer" doc:"the realm's issuer URL; its /.well-known/openid-configuration has the device and token endpoints"`
	CLIClientID string `json:"cli_client_id" doc:"the realm's public client for people's logins (device flow)"`
	Audience    string `json:"audience" doc:"the audience management-API tokens must carry"`
	KeywardURL  string `json:"keyward_url" doc:"Keyward's base URL"`
	TokenURL    string `json:"token_endpoint" doc:"Keyward's token endpoint: an API key in, a Keycloak token out"`
	ConsoleURL  string `json:"console_url" doc:"the web console"`
}

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status"`
}

func (Health) Rules() Rules { return Rules{"status": {Enum: []string{"ok"}}} }

// Readiness is the answer of /readyz: ready, or not ready with the dependency down.
type Readiness struct {
	Status string          `json:"status"`
	Checks ReadinessChecks `json:"checks"`
}

func (Readiness) Rules() Rules { return Rules{"status": {Enum: []string{"ready", "not ready"}}} }

// ReadinessChecks are the dependencies' states, up or down; key_notifications only
// where Keycloak's key notifications are configured.
type ReadinessChecks struct {
	Database         string `json:"database"`
	Keycloak         string `json:"keycloak"`
	KeyNotifications string `json:"key_notifications,omitempty"`
}

func (ReadinessChecks) Rules() Rules {
	upDown := Rule{Enum: []string{"up", "down"}}
	return Rules{"database": upDown, "keycloak": upDown, "key_notifications": upDown}
}
