package config

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// setting is one KEYWARD_* variable: its name (and flag), default, help, and where
// and as what kind its value is read. Adding a setting is one entry in settings (and
// its field in Config); Load, Validate, the flags, -h and Variables read this table.
type setting struct {
	env, def, help string
	v              value
	// secret: never quoted in a message nor shown as a flag default (so its default is "").
	secret bool
	// required: empty (or only spaces) is a problem.
	required bool
}

// settings is the table, bound to c's fields.
func (c *Config) settings() []setting {
	e := &c.Events
	return []setting{
		{env: "KEYWARD_LISTEN_ADDR", def: "127.0.0.1:8080", help: "address to listen on", v: text(&c.ListenAddr)},
		{env: "KEYWARD_METRICS_LISTEN_ADDR", help: "address to serve /metrics on, and then only there (empty: /metrics on the listen address)", v: text(&c.MetricsListenAddr)},
		{env: "KEYWARD_PUBLIC_URL", help: "Keyward's URL as Keycloak reaches it: issuer of assertions, base of the JWKS URL (default http://<listen addr>)", v: httpURL(&c.PublicURL), required: true},
		{env: "KEYWARD_DATABASE_URL", help: "postgres://… for PostgreSQL; empty for the embedded SQLite file in the data dir", v: text(&c.DatabaseURL), secret: true},
		{env: "KEYWARD_DATABASE_LISTEN_URL", help: "postgres://… for the key-notification connection only (LISTEN needs one session: e.g. straight to the server while KEYWARD_DATABASE_URL goes through a pooler in transaction mode); default KEYWARD_DATABASE_URL", v: text(&c.DatabaseListenURL), secret: true},
		{env: "KEYWARD_DATA_DIR", def: "keyward-data", help: "directory for the SQLite file, the signing key and the pepper", v: text(&c.DataDir), required: true},
		{env: "KEYWARD_KEYCLOAK_URL", def: "http://127.0.0.1:8180", help: "Keycloak base URL", v: httpURL(&c.KeycloakURL), required: true},
		{env: "KEYWARD_REALM", def: "keyward", help: "Keycloak realm", v: text(&c.Realm), required: true},
		{env: "KEYWARD_KEYCLOAK_ISSUER", help: "the realm's issuer when Keycloak's public hostname differs from KEYWARD_KEYCLOAK_URL (default <keycloak url>/realms/<realm>)", v: httpURL(&c.KeycloakIssuer)},
		{env: "KEYWARD_CLIENT_ID", def: "keyward", help: "the confidential client exchanged tokens are issued to (JWT Authorization Grant); it must hold no realm-management roles in its scope", v: text(&c.ClientID), required: true},
		{env: "KEYWARD_CLIENT_SECRET", help: "secret of that client (required)", v: text(&c.ClientSecret), secret: true, required: true},
		{env: "KEYWARD_ADMIN_CLIENT_ID", def: "keyward-management", help: "the confidential client whose service account makes Keyward's admin calls (realm-management roles); never the exchange client", v: text(&c.AdminClientID), required: true},
		{env: "KEYWARD_ADMIN_CLIENT_SECRET", help: "secret of that client (required)", v: text(&c.AdminSecret), secret: true, required: true},
		{env: "KEYWARD_CLI_CLIENT_ID", def: "keyward-cli", help: "the realm's public client people log in with (device flow), published at /.well-known/keyward-configuration", v: text(&c.CLIClientID), required: true},
		{env: "KEYWARD_LIMITED_CLIENT_ID", def: "keyward-limited", help: "the client that tokens of keys limited to some of their owner's roles are issued to; Keyward creates and maintains it (client-jwt against Keyward's JWKS, no scope mappings of its own)", v: text(&c.LimitedClientID), required: true},
		{env: "KEYWARD_IDP_ALIAS", def: "keyward", help: "alias of the realm's jwt-authorization-grant identity provider that trusts Keyward", v: text(&c.IdPAlias), required: true},
		{env: "KEYWARD_ADMIN_ROLE", def: "keyward-admin", help: "realm role of Keyward admins", v: text(&c.AdminRole), required: true},
		{env: "KEYWARD_ACL_PARENT_GROUP", def: "keyward-acl", help: "top-level Keycloak group whose subgroups are the ACL groups (created if absent); / for the realm's top-level groups (needs KEYWARD_ACL_ALLOW_TOP_LEVEL=true)", v: text(&c.ACLParentGroup)},
		{env: "KEYWARD_ACL_ALLOW_TOP_LEVEL", def: "false", help: "accept KEYWARD_ACL_PARENT_GROUP=/, which makes every top-level group of the realm an ACL group (true/false)", v: boolean(&c.ACLAllowTopLevel)},
		{env: "KEYWARD_AUDIENCE", help: "audience that management-API and console tokens must carry in aud (default: KEYWARD_CLIENT_ID); the realm's login clients add it with an audience mapper", v: text(&c.Audience)},
		{env: "KEYWARD_DENY_ROLES", help: "comma-separated roles no exchanged token may carry and no admin may create keys for (realm role, client:role, client:*); realm-management:* is always denied (default: realm-admin,<KEYWARD_ADMIN_ROLE>)", v: list(&c.DenyRoles)},
		{env: "KEYWARD_MAX_KEYS_PER_USER", def: "50", help: "most live keys one user may hold", v: number(&c.MaxKeysPerUser, 1, 100_000)},
		{env: "KEYWARD_OWNER_MAX_RATE_REQUESTS", help: "highest rate limit an owner may set on their key, in requests per KEYWARD_RATE_LIMIT_WINDOW; admins may exceed it (default: 10 x KEYWARD_RATE_LIMIT_REQUESTS)", v: number(&c.OwnerMaxRate, 0, 10_000_000)},
		{env: "KEYWARD_EXCHANGE_FAILURE_BUDGET", def: "30", help: "failed exchanges one client address may make per KEYWARD_EXCHANGE_FAILURE_WINDOW before it gets 429 (0 = no throttle)", v: number(&c.FailureBudget, 0, 1_000_000)},
		{env: "KEYWARD_KEY_PEPPER", help: "secret of at least 32 bytes keying the API-key hashes (default: generated into the data dir)", v: text(&c.KeyPepper), secret: true},
		{env: "KEYWARD_SIGNING_KEY_FILE", help: "PEM file of an assertion-signing key to import once into the store as its current key (created if absent when set; default: <data dir>/signing-key.pem when it exists)", v: text(&c.SigningKeyFile)},
		{env: "KEYWARD_ENCRYPTION_KEY", help: "32 bytes in base64 encrypting the signing keys (and other secrets) in the store; the same on every replica (default: generated into the data dir)", v: text(&c.EncryptionKey), secret: true},
		{env: "KEYWARD_ENCRYPTION_KEY_FILE", help: "file holding KEYWARD_ENCRYPTION_KEY (base64), instead of the variable", v: text(&c.EncryptionKeyFile)},
		{env: "KEYWARD_LOG_LEVEL", def: "info", help: "debug, info, warn or error", v: oneOf(&c.LogLevel, "debug", "info", "warn", "error")},
		{env: "KEYWARD_LOG_FORMAT", def: "json", help: "json or console", v: oneOf(&c.LogFormat, "json", "console")},
		{env: "KEYWARD_RATE_LIMIT_REQUESTS", def: "600", help: "default rate limit of keys without their own: requests per KEYWARD_RATE_LIMIT_WINDOW (0 = unlimited, only with KEYWARD_ALLOW_UNLIMITED)", v: number(&c.RateRequests, 0, 1_000_000)},
		{env: "KEYWARD_ALLOW_UNLIMITED", def: "false", help: "whether keys may be unlimited (true/false)", v: boolean(&c.AllowUnlimited)},
		{env: "KEYWARD_RATE_LIMIT_BACKEND", def: "memory", help: "memory (one replica) or redis (the limit holds across replicas)", v: oneOf(&c.RateBackend, "memory", "redis")},
		{env: "KEYWARD_REDIS_URL", help: "redis://… for the redis rate-limit backend", v: text(&c.RedisURL), secret: true},
		{env: "KEYWARD_TRUSTED_PROXIES", help: "comma-separated CIDRs of proxies whose X-Forwarded-For is believed", v: list(&c.TrustedProxies)},
		{env: "KEYWARD_CLIENT_REDIRECT_HOSTS", help: "comma-separated hosts that provisioned clients' redirect URIs may name, where users' authorization codes go: app.example.com, *.example.com for its subdomains, host:port for a loopback host (127.0.0.1:8765); empty: clients get no redirect URIs", v: list(&c.ClientRedirectHosts)},
		{env: "KEYWARD_WEBHOOK_ALLOWED_NETWORKS", help: "comma-separated CIDRs webhooks may be delivered to although they are loopback, private, link-local or otherwise internal (e.g. 127.0.0.0/8,::1/128 for development)", v: list(&c.WebhookAllowedNetworks)},
		{env: "KEYWARD_CONSOLE_CLIENT_ID", def: "keyward-console", help: "the realm's confidential client the web console logs people in with (code flow + PKCE)", v: text(&c.ConsoleClientID)},
		{env: "KEYWARD_CONSOLE_CLIENT_SECRET", help: "secret of that client; the web console is served at / only when it is set", v: text(&c.ConsoleClientSecret), secret: true},
		{env: "KEYWARD_CONSOLE_LOGIN_RATE", def: "60", help: "most console logins one client address may start per minute (0: no bound)", v: number(&c.ConsoleLoginRate, 0, 1_000_000)},
		{env: "KEYWARD_CONSOLE_URL", help: "the console's URL as browsers reach it: base of its callback and Origin checks (default KEYWARD_PUBLIC_URL)", v: text(&c.ConsoleURL)},
		{env: "KEYWARD_AUDIT_RETENTION", def: "400", help: "days audit events are kept: older ones are deleted, in small batches by one replica each hour (0: kept for ever)", v: number(&c.AuditRetentionDays, 0, 36_500)},
		{env: "KEYWARD_USAGE_RETENTION", def: "400", help: "days of per-day usage counts kept: older days are deleted the same way (0: kept for ever)", v: number(&c.UsageRetentionDays, 0, 36_500)},
		{env: "KEYWARD_TOKEN_CACHE", def: "true", help: "reuse a key's Keycloak token until the margin before it expires; a role, group or user change in Keycloak reaches it within KEYWARD_EVENTS_POLL_INTERVAL (true/false)", v: boolean(&c.TokenCache)},

		{env: "KEYWARD_KEYCLOAK_TIMEOUT", def: "10s", help: "timeout of each call to Keycloak", v: duration(&c.KeycloakTimeout, time.Millisecond, 5*time.Minute)},
		{env: "KEYWARD_USAGE_FLUSH_INTERVAL", def: "10s", help: "how often usage counts and last-use times are written (a crash loses at most one interval)", v: duration(&c.UsageInterval, 100*time.Millisecond, time.Hour)},
		{env: "KEYWARD_RATE_LIMIT_WINDOW", def: "1m", help: "window of the default rate limit", v: duration(&c.RateWindow, time.Second, 24*time.Hour)},
		{env: "KEYWARD_TOKEN_CACHE_MARGIN", def: "30s", help: "a cached token is not served when it has less than this left", v: duration(&c.CacheMargin, 0, time.Hour)},
		{env: "KEYWARD_EXCHANGE_FAILURE_WINDOW", def: "1m", help: "window of KEYWARD_EXCHANGE_FAILURE_BUDGET", v: duration(&c.FailureWindow, time.Second, 24*time.Hour)},
		{env: "KEYWARD_WEBHOOK_TIMEOUT", def: "10s", help: "timeout of each webhook delivery attempt", v: duration(&c.WebhookTimeout, time.Second, time.Minute)},
		{env: "KEYWARD_CONSOLE_SESSION_IDLE", def: "30m", help: "a console session unused this long ends", v: duration(&c.ConsoleSessionIdle, time.Minute, 24*time.Hour)},
		{env: "KEYWARD_CONSOLE_SESSION_MAX", def: "8h", help: "a console session ends this long after login, used or not", v: duration(&c.ConsoleSessionMax, time.Minute, 30*24*time.Hour)},
		{env: "KEYWARD_CONSOLE_REFRESH", def: "1m", help: "how often a console session's Keycloak tokens are refreshed (a user disabled in Keycloak is out at the next refresh); 0s: every page", v: duration(&c.ConsoleRefresh, 0, time.Hour)},
		{env: "KEYWARD_KEY_STATE_MAX_AGE", def: "60s", help: "a replica serves a key from memory for at most this long, then reads it again (a backstop should a key change go unheard)", v: duration(&c.KeyStateMaxAge, time.Second, time.Hour)},
		{env: "KEYWARD_SIGNING_KEY_ROTATION", def: "720h", help: "how often the assertion-signing key is replaced (the next one is published a minute before it signs)", v: duration(&c.SigningKeyRotation, time.Hour, 8760*time.Hour)},

		// Events (events.go).
		{env: "KEYWARD_EVENTS_POLL_INTERVAL", def: "10s", help: "how often Keycloak's admin and user events are read (bounds how late a role change reaches cached tokens)", v: duration(&e.PollInterval, 100*time.Millisecond, time.Hour)},
		{env: "KEYWARD_ON_CREDENTIAL_RESET", def: "none", help: "what a password reset or sign-out everywhere in Keycloak does to the user's keys: none or disable", v: oneOf(&e.OnCredentialReset, "none", "disable")},
		{env: "KEYWARD_SMTP_URL", help: "smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://… for expiry and leak mails; empty: no mail", v: text(&e.SMTPURL), secret: true},
		{env: "KEYWARD_MAIL_FROM", help: "sender address of Keyward's mails (required with KEYWARD_SMTP_URL)", v: text(&e.MailFrom)},
		{env: "KEYWARD_REMINDER_INTERVAL", def: "15m", help: "how often keys are checked for expiry reminders (30, 7 and 1 days before, and at expiry)", v: duration(&e.ReminderInterval, 100*time.Millisecond, 24*time.Hour)},
		{env: "KEYWARD_LEAK_ACTION", def: "revoke", help: "what a valid leaked-key report does to the key: revoke or disable", v: oneOf(&e.LeakAction, "revoke", "disable")},
		{env: "KEYWARD_LEAK_REPORTER_KEYS_FILE", help: "PEM file of secret-scanning reporters' ECDSA public keys (KEY-ID: header per block); when set, reports must be signed", v: text(&e.LeakReporterKeysFile)},
	}
}

// value is one kind of setting: how its text is read, and what a value must be.
type value interface {
	// load stores what text says; a text that does not read leaves the zero value
	// (Validate names it).
	load(text string)
	// reads tells whether text reads as this kind, and whether it says the value held.
	reads(text string) (ok, same bool)
	String() string
	// valid tells whether the value held is within the kind's bounds; rule says them.
	valid() bool
	rule(def string) string
}

type textValue struct {
	dst     *string
	choices []string // any text when empty
	url     bool     // an absolute http or https URL when not empty
}

func text(dst *string) *textValue                     { return &textValue{dst: dst} }
func oneOf(dst *string, choices ...string) *textValue { return &textValue{dst: dst, choices: choices} }
func httpURL(dst *string) *textValue                  { return &textValue{dst: dst, url: true} }

func (v *textValue) load(text string)                  { *v.dst = text }
func (v *textValue) reads(text string) (ok, same bool) { return true, text == *v.dst }
func (v *textValue) String() string                    { return *v.dst }

func (v *textValue) valid() bool {
	switch {
	case len(v.choices) > 0:
		return slices.Contains(v.choices, *v.dst)
	case v.url && *v.dst != "":
		u, err := url.Parse(*v.dst)
		return err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")
	}
	return true
}

func (v *textValue) rule(string) string {
	if v.url {
		return "must be an absolute http or https URL"
	}
	last := len(v.choices) - 1
	return "must be " + strings.Join(v.choices[:last], ", ") + " or " + v.choices[last]
}

type boolValue struct{ dst *bool }

func boolean(dst *bool) *boolValue { return &boolValue{dst} }

func (v *boolValue) load(text string) { *v.dst, _ = strconv.ParseBool(text) }
func (v *boolValue) reads(text string) (ok, same bool) {
	b, err := strconv.ParseBool(text)
	return err == nil, err == nil && b == *v.dst
}
func (v *boolValue) String() string     { return strconv.FormatBool(*v.dst) }
func (v *boolValue) valid() bool        { return true }
func (v *boolValue) rule(string) string { return "must be true or false" }

type numberValue struct {
	dst      *int
	min, max int
}

func number(dst *int, min, max int) *numberValue { return &numberValue{dst, min, max} }

func (v *numberValue) load(text string) { *v.dst, _ = strconv.Atoi(text) }
func (v *numberValue) reads(text string) (ok, same bool) {
	n, err := strconv.Atoi(text)
	return err == nil, err == nil && n == *v.dst
}
func (v *numberValue) String() string { return strconv.Itoa(*v.dst) }
func (v *numberValue) valid() bool    { return *v.dst >= v.min && *v.dst <= v.max }
func (v *numberValue) rule(string) string {
	return "must be a whole number between " + strconv.Itoa(v.min) + " and " + strconv.Itoa(v.max)
}

type durationValue struct {
	dst      *time.Duration
	min, max time.Duration
}

func duration(dst *time.Duration, min, max time.Duration) *durationValue {
	return &durationValue{dst, min, max}
}

func (v *durationValue) load(text string) { *v.dst, _ = time.ParseDuration(text) }
func (v *durationValue) reads(text string) (ok, same bool) {
	d, err := time.ParseDuration(text)
	return err == nil, err == nil && d == *v.dst
}
func (v *durationValue) String() string { return v.dst.String() }
func (v *durationValue) valid() bool    { return *v.dst >= v.min && *v.dst <= v.max }
func (v *durationValue) rule(def string) string {
	return "must be a duration between " + v.min.String() + " and " + v.max.String() + ", e.g. " + def
}

// listValue is comma-separated, each entry trimmed, empty ones dropped; its entries
// are checked by the check of their own in Validate.
type listValue struct{ dst *[]string }

func list(dst *[]string) *listValue { return &listValue{dst} }

func (v *listValue) load(text string) { *v.dst = splitList(text) }
func (v *listValue) reads(text string) (ok, same bool) {
	return true, slices.Equal(splitList(text), *v.dst)
}
func (v *listValue) String() string     { return strings.Join(*v.dst, ",") }
func (v *listValue) valid() bool        { return true }
func (v *listValue) rule(string) string { return "" }

func splitList(text string) []string {
	var out []string
	for _, p := range strings.Split(text, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkSettings is Validate's generic pass: required settings, and each value read as
// its kind and within its bounds. A value changed after Load is checked as it is now,
// one that did not read is quoted as given; a secret is never quoted.
func (c Config) checkSettings(bad func(string, ...any)) {
	for _, s := range c.settings() {
		if s.required && strings.TrimSpace(s.v.String()) == "" {
			bad("%s is required", s.env)
			continue
		}
		text, given := c.given[s.env]
		ok, same := s.v.reads(text)
		unread := given && !ok
		if !unread && !(given && same) {
			text = s.v.String()
		}
		if unread || !s.v.valid() {
			if s.secret {
				bad("%s %s", s.env, s.v.rule(s.def))
			} else {
				bad("%s %q %s", s.env, text, s.v.rule(s.def))
			}
		}
	}
}

// Setting is one KEYWARD_* setting as its table states it, for readers outside the
// package (the reference docs): Flag is its command-line flag (-listen-addr), Default
// the table's default ("" when it has none or derives it, as Help then says).
type Setting struct {
	Name, Flag, Default, Help string
	Secret, Required          bool
}

// Describe is the settings table, in its order.
func Describe() []Setting {
	var out []Setting
	for _, s := range new(Config).settings() {
		out = append(out, Setting{Name: s.env, Flag: "-" + flagName(s.env), Default: s.def, Help: s.help,
			Secret: s.secret, Required: s.required})
	}
	return out
}

// Variables lists the name of every KEYWARD_* setting Load reads, so that deployment
// files (the compose file, the Helm chart) can be checked against it.
func Variables() []string {
	var names []string
	for _, s := range Describe() {
		names = append(names, s.Name)
	}
	return names
}

// Secrets lists the settings that hold secrets (passwords in URLs included): a
// deployment passes them from a secret store, never inline, and no message repeats them.
func Secrets() []string {
	var names []string
	for _, s := range Describe() {
		if s.Secret {
			names = append(names, s.Name)
		}
	}
	return names
}

func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "KEYWARD_")), "_", "-")
}
