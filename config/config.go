// Package config is Keyward's configuration: KEYWARD_* environment variables and the
// flags that override them, parsed once by Load and checked once by Validate.
//
// Validate knows every value that wiring would refuse, so that a configuration it
// accepts never makes wiring fail or panic, and a user fixing a deployment sees every
// mistake at once. It looks at paths (stat only) and never opens, creates or connects
// to anything.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/internal/cidrlist"
	"github.com/keyward/keyward/internal/hostlist"
	"github.com/keyward/keyward/internal/sealbox"
)

// Config is Keyward's configuration: KEYWARD_* environment variables, overridable by
// flags of the same name in lower case with dashes (KEYWARD_LISTEN_ADDR → -listen-addr).
type Config struct {
	ListenAddr string
	// MetricsListenAddr, when set, serves /metrics there alone, off the public listener.
	MetricsListenAddr string
	PublicURL         string
	DatabaseURL       string
	// DatabaseListenURL, when set, opens the key-notification connection instead of
	// DatabaseURL (LISTEN needs a session of its own; see models.ListenURL).
	DatabaseListenURL string
	// KeyStateMaxAge bounds how long a replica serves a key from memory.
	KeyStateMaxAge  time.Duration
	DataDir         string
	KeycloakURL     string
	KeycloakIssuer  string
	Realm           string
	ClientID        string
	ClientSecret    string
	AdminClientID   string
	AdminSecret     string
	CLIClientID     string
	IdPAlias        string
	AdminRole       string
	ACLParentGroup  string
	Audience        string
	KeyPepper       string
	SigningKeyFile  string
	KeycloakTimeout time.Duration
	UsageInterval   time.Duration
	RateWindow      time.Duration
	CacheMargin     time.Duration

	// Shared by replicas (issue 14). SigningKeyFileGiven: KEYWARD_SIGNING_KEY_FILE was
	// set, so the file is created when absent and imported once into the store.
	// EncryptionKey / EncryptionKeyFile: the key-encryption key of secrets at rest
	// (internal/sealbox), as base64 text or a file holding it; neither: generated into
	// the data dir.
	SigningKeyFileGiven bool
	EncryptionKey       string
	EncryptionKeyFile   string
	SigningKeyRotation  time.Duration

	// ACLAllowTopLevel accepts KEYWARD_ACL_PARENT_GROUP=/ (see its check).
	ACLAllowTopLevel bool

	// DenyRoles: roles no exchanged token may carry and no admin may act upon
	// (realm-management:* is always added by the exchange).
	DenyRoles []string
	// MaxKeysPerUser bounds a user's live keys; OwnerMaxRate is the highest rate
	// limit an owner may set on their key (requests per RateWindow; 0 = no ceiling).
	MaxKeysPerUser int
	OwnerMaxRate   int
	FailureBudget  int
	FailureWindow  time.Duration
	// RateRequestsRaw is KEYWARD_RATE_LIMIT_REQUESTS as given; RateRequests its value.
	RateRequestsRaw string
	RateRequests    int
	AllowUnlimited  bool
	RateBackend     string
	RedisURL        string
	TrustedProxies  []string
	TokenCache      bool
	LogLevel        string
	LogFormat       string

	// WebhookAllowedNetworks are CIDRs webhooks may be delivered to although they are
	// internal (loopback, private, …); WebhookTimeout bounds each delivery attempt.
	WebhookAllowedNetworks []string
	WebhookTimeout         time.Duration
	// ClientRedirectHosts are the hosts provisioned clients' redirect URIs may name
	// (internal/hostlist); empty: no client gets redirect URIs.
	ClientRedirectHosts []string
	// The web console: on when ConsoleClientSecret is set (a confidential client of the
	// realm of its own). ConsoleURL is where browsers reach it (default PublicURL).
	ConsoleClientID     string
	ConsoleClientSecret string
	ConsoleURL          string
	ConsoleSessionIdle  time.Duration
	ConsoleSessionMax   time.Duration
	ConsoleRefresh      time.Duration
	// ConsoleLoginRate bounds the logins one client address may start per minute
	// (each is a row in the store until it ends or times out); 0: no bound.
	ConsoleLoginRate int
	// Events: Keycloak's events, expiry reminders, leaked-key reports (events.go).
	Events Events

	// given is the text Load read for each setting that is not text, by variable
	// name: Validate reports one that does not parse, and quotes the text as given
	// while the value is still the one read from it.
	given map[string]string
}

type setting struct {
	env, def, help string
	dst            *string
}

// textSettings are the settings read as text; raw holds the text of the typed ones
// until Load converts them.
func (c *Config) textSettings(raw *rawSettings) []setting {
	return []setting{
		{"KEYWARD_LISTEN_ADDR", "127.0.0.1:8080", "address to listen on", &c.ListenAddr},
		{"KEYWARD_METRICS_LISTEN_ADDR", "", "address to serve /metrics on, and then only there (empty: /metrics on the listen address)", &c.MetricsListenAddr},
		{"KEYWARD_PUBLIC_URL", "", "Keyward's URL as Keycloak reaches it: issuer of assertions, base of the JWKS URL (default http://<listen addr>)", &c.PublicURL},
		{"KEYWARD_DATABASE_URL", "", "postgres://… for PostgreSQL; empty for the embedded SQLite file in the data dir", &c.DatabaseURL},
		{"KEYWARD_DATABASE_LISTEN_URL", "", "postgres://… for the key-notification connection only (LISTEN needs one session: e.g. straight to the server while KEYWARD_DATABASE_URL goes through a pooler in transaction mode); default KEYWARD_DATABASE_URL", &c.DatabaseListenURL},
		{"KEYWARD_DATA_DIR", "keyward-data", "directory for the SQLite file, the signing key and the pepper", &c.DataDir},
		{"KEYWARD_KEYCLOAK_URL", "http://127.0.0.1:8180", "Keycloak base URL", &c.KeycloakURL},
		{"KEYWARD_REALM", "keyward", "Keycloak realm", &c.Realm},
		{"KEYWARD_KEYCLOAK_ISSUER", "", "the realm's issuer when Keycloak's public hostname differs from KEYWARD_KEYCLOAK_URL (default <keycloak url>/realms/<realm>)", &c.KeycloakIssuer},
		{"KEYWARD_CLIENT_ID", "keyward", "the confidential client exchanged tokens are issued to (JWT Authorization Grant); it must hold no realm-management roles in its scope", &c.ClientID},
		{"KEYWARD_CLIENT_SECRET", "", "secret of that client (required)", &c.ClientSecret},
		{"KEYWARD_ADMIN_CLIENT_ID", "keyward-management", "the confidential client whose service account makes Keyward's admin calls (realm-management roles); never the exchange client", &c.AdminClientID},
		{"KEYWARD_ADMIN_CLIENT_SECRET", "", "secret of that client (required)", &c.AdminSecret},
		{"KEYWARD_CLI_CLIENT_ID", "keyward-cli", "the realm's public client people log in with (device flow), published at /.well-known/keyward-configuration", &c.CLIClientID},
		{"KEYWARD_IDP_ALIAS", "keyward", "alias of the realm's jwt-authorization-grant identity provider that trusts Keyward", &c.IdPAlias},
		{"KEYWARD_ADMIN_ROLE", "keyward-admin", "realm role of Keyward admins", &c.AdminRole},
		{"KEYWARD_ACL_PARENT_GROUP", "keyward-acl", "top-level Keycloak group whose subgroups are the ACL groups (created if absent); / for the realm's top-level groups (needs KEYWARD_ACL_ALLOW_TOP_LEVEL=true)", &c.ACLParentGroup},
		{"KEYWARD_ACL_ALLOW_TOP_LEVEL", "false", "accept KEYWARD_ACL_PARENT_GROUP=/, which makes every top-level group of the realm an ACL group (true/false)", &raw.aclAllowTopLevel},
		{"KEYWARD_AUDIENCE", "", "audience that management-API and console tokens must carry in aud (default: KEYWARD_CLIENT_ID); the realm's login clients add it with an audience mapper", &c.Audience},
		{"KEYWARD_DENY_ROLES", "", "comma-separated roles no exchanged token may carry and no admin may create keys for (realm role, client:role, client:*); realm-management:* is always denied (default: realm-admin,<KEYWARD_ADMIN_ROLE>)", &raw.deny},
		{"KEYWARD_MAX_KEYS_PER_USER", "50", "most live keys one user may hold", &raw.maxKeys},
		{"KEYWARD_OWNER_MAX_RATE_REQUESTS", "", "highest rate limit an owner may set on their key, in requests per KEYWARD_RATE_LIMIT_WINDOW; admins may exceed it (default: 10 x KEYWARD_RATE_LIMIT_REQUESTS)", &raw.ownerMaxRate},
		{"KEYWARD_EXCHANGE_FAILURE_BUDGET", "30", "failed exchanges one client address may make per KEYWARD_EXCHANGE_FAILURE_WINDOW before it gets 429 (0 = no throttle)", &raw.failureBudget},
		{"KEYWARD_KEY_PEPPER", "", "secret of at least 32 bytes keying the API-key hashes (default: generated into the data dir)", &c.KeyPepper},
		{"KEYWARD_SIGNING_KEY_FILE", "", "PEM file of an assertion-signing key to import once into the store as its current key (created if absent when set; default: <data dir>/signing-key.pem when it exists)", &c.SigningKeyFile},
		{"KEYWARD_ENCRYPTION_KEY", "", "32 bytes in base64 encrypting the signing keys (and other secrets) in the store; the same on every replica (default: generated into the data dir)", &c.EncryptionKey},
		{"KEYWARD_ENCRYPTION_KEY_FILE", "", "file holding KEYWARD_ENCRYPTION_KEY (base64), instead of the variable", &c.EncryptionKeyFile},
		{"KEYWARD_LOG_LEVEL", "info", "debug, info, warn or error", &c.LogLevel},
		{"KEYWARD_LOG_FORMAT", "json", "json or console", &c.LogFormat},
		{"KEYWARD_RATE_LIMIT_REQUESTS", "600", "default rate limit of keys without their own: requests per KEYWARD_RATE_LIMIT_WINDOW (0 = unlimited, only with KEYWARD_ALLOW_UNLIMITED)", &c.RateRequestsRaw},
		{"KEYWARD_ALLOW_UNLIMITED", "false", "whether keys may be unlimited (true/false)", &raw.allowUnlimited},
		{"KEYWARD_RATE_LIMIT_BACKEND", "memory", "memory (one replica) or redis (the limit holds across replicas)", &c.RateBackend},
		{"KEYWARD_REDIS_URL", "", "redis://… for the redis rate-limit backend", &c.RedisURL},
		{"KEYWARD_TRUSTED_PROXIES", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is believed", &raw.trusted},
		{"KEYWARD_CLIENT_REDIRECT_HOSTS", "", "comma-separated hosts that provisioned clients' redirect URIs may name, where users' authorization codes go: app.example.com, *.example.com for its subdomains, host:port for a loopback host (127.0.0.1:8765); empty: clients get no redirect URIs", &raw.redirectHosts},
		{"KEYWARD_WEBHOOK_ALLOWED_NETWORKS", "", "comma-separated CIDRs webhooks may be delivered to although they are loopback, private, link-local or otherwise internal (e.g. 127.0.0.0/8,::1/128 for development)", &raw.webhookNetworks},
		{"KEYWARD_CONSOLE_CLIENT_ID", "keyward-console", "the realm's confidential client the web console logs people in with (code flow + PKCE)", &c.ConsoleClientID},
		{"KEYWARD_CONSOLE_CLIENT_SECRET", "", "secret of that client; the web console is served at / only when it is set", &c.ConsoleClientSecret},
		{"KEYWARD_CONSOLE_LOGIN_RATE", "60", "most console logins one client address may start per minute (0: no bound)", &raw.consoleLoginRate},
		{"KEYWARD_CONSOLE_URL", "", "the console's URL as browsers reach it: base of its callback and Origin checks (default KEYWARD_PUBLIC_URL)", &c.ConsoleURL},
		{"KEYWARD_TOKEN_CACHE", "true", "reuse a key's Keycloak token until the margin before it expires; a role, group or user change in Keycloak reaches it within KEYWARD_EVENTS_POLL_INTERVAL (true/false)", &raw.tokenCache},
	}
}

// rawSettings is the text of the settings that are not text, as Load reads it.
type rawSettings struct {
	aclAllowTopLevel, deny, maxKeys, ownerMaxRate, failureBudget string
	allowUnlimited, trusted, tokenCache                          string
	webhookNetworks, consoleLoginRate, redirectHosts             string
	durations                                                    []string
}

type durationSetting struct {
	env, def, help string
	min, max       time.Duration
	dst            *time.Duration
}

func (c *Config) durations() []durationSetting {
	return []durationSetting{
		{"KEYWARD_KEYCLOAK_TIMEOUT", "10s", "timeout of each call to Keycloak", time.Millisecond, 5 * time.Minute, &c.KeycloakTimeout},
		{"KEYWARD_USAGE_FLUSH_INTERVAL", "10s", "how often usage counts and last-use times are written (a crash loses at most one interval)", 100 * time.Millisecond, time.Hour, &c.UsageInterval},
		{"KEYWARD_RATE_LIMIT_WINDOW", "1m", "window of the default rate limit", time.Second, 24 * time.Hour, &c.RateWindow},
		{"KEYWARD_TOKEN_CACHE_MARGIN", "30s", "a cached token is not served when it has less than this left", 0, time.Hour, &c.CacheMargin},
		{"KEYWARD_EXCHANGE_FAILURE_WINDOW", "1m", "window of KEYWARD_EXCHANGE_FAILURE_BUDGET", time.Second, 24 * time.Hour, &c.FailureWindow},
		{"KEYWARD_WEBHOOK_TIMEOUT", "10s", "timeout of each webhook delivery attempt", time.Second, time.Minute, &c.WebhookTimeout},
		{"KEYWARD_CONSOLE_SESSION_IDLE", "30m", "a console session unused this long ends", time.Minute, 24 * time.Hour, &c.ConsoleSessionIdle},
		{"KEYWARD_CONSOLE_SESSION_MAX", "8h", "a console session ends this long after login, used or not", time.Minute, 30 * 24 * time.Hour, &c.ConsoleSessionMax},
		{"KEYWARD_CONSOLE_REFRESH", "1m", "how often a console session's Keycloak tokens are refreshed (a user disabled in Keycloak is out at the next refresh); 0s: every page", 0, time.Hour, &c.ConsoleRefresh},
		{"KEYWARD_KEY_STATE_MAX_AGE", "60s", "a replica serves a key from memory for at most this long, then reads it again (a backstop should a key change go unheard)", time.Second, time.Hour, &c.KeyStateMaxAge},
		{"KEYWARD_SIGNING_KEY_ROTATION", "720h", "how often the assertion-signing key is replaced (the next one is published a minute before it signs)", time.Hour, 8760 * time.Hour, &c.SigningKeyRotation},
	}
}

type numberSetting struct {
	env      string
	min, max int
	dst      *int
}

func (c *Config) numbers() []numberSetting {
	return []numberSetting{
		{"KEYWARD_RATE_LIMIT_REQUESTS", 0, 1_000_000, &c.RateRequests},
		{"KEYWARD_MAX_KEYS_PER_USER", 1, 100_000, &c.MaxKeysPerUser},
		{"KEYWARD_EXCHANGE_FAILURE_BUDGET", 0, 1_000_000, &c.FailureBudget},
		{"KEYWARD_OWNER_MAX_RATE_REQUESTS", 0, 10_000_000, &c.OwnerMaxRate},
		{"KEYWARD_CONSOLE_LOGIN_RATE", 0, 1_000_000, &c.ConsoleLoginRate},
	}
}

type boolSetting struct {
	env string
	dst *bool
}

func (c *Config) bools() []boolSetting {
	return []boolSetting{
		{"KEYWARD_ALLOW_UNLIMITED", &c.AllowUnlimited},
		{"KEYWARD_TOKEN_CACHE", &c.TokenCache},
		{"KEYWARD_ACL_ALLOW_TOP_LEVEL", &c.ACLAllowTopLevel},
	}
}

// Variables lists the name of every KEYWARD_* setting Load reads, so that deployment
// files (the compose file, the Helm chart) can be checked against it.
func Variables() []string {
	var c Config
	var raw rawSettings
	var names []string
	for _, s := range c.textSettings(&raw) {
		names = append(names, s.env)
	}
	for _, d := range c.durations() {
		names = append(names, d.env)
	}
	events := flag.NewFlagSet("events", flag.ContinueOnError)
	c.registerEvents(events, func(string) string { return "" })
	events.VisitAll(func(f *flag.Flag) {
		names = append(names, "KEYWARD_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")))
	})
	return names
}

func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "KEYWARD_")), "_", "-")
}

// Load reads the environment, then the flags in args (flags win), and applies the
// defaults. It fails only on the command line itself (an unknown flag; flag.ErrHelp
// after -h printed the usage): a value that does not read as its type is kept for
// Validate, which reports it with every other problem.
func Load(args []string, getenv func(string) string) (Config, error) {
	var c Config
	var raw rawSettings
	fs := flag.NewFlagSet("keyward", flag.ContinueOnError)
	for _, s := range c.textSettings(&raw) {
		v := getenv(s.env)
		if v == "" {
			v = s.def
		}
		fs.StringVar(s.dst, flagName(s.env), v, s.help+" ["+s.env+"]")
	}
	durations := c.durations()
	raw.durations = make([]string, len(durations))
	for i, d := range durations {
		raw.durations[i] = getenv(d.env)
		if raw.durations[i] == "" {
			raw.durations[i] = d.def
		}
		fs.StringVar(&raw.durations[i], flagName(d.env), raw.durations[i], d.help+" ["+d.env+"]")
	}
	eventsRaw := c.registerEvents(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.given = map[string]string{}
	c.applyDefaults()
	c.parseValues(raw, durations)
	c.parseEvents(eventsRaw)
	return c, nil
}

// applyDefaults fills what defaults to another setting and trims URLs.
func (c *Config) applyDefaults() {
	if c.PublicURL == "" && c.ListenAddr != "" {
		c.PublicURL = "http://" + c.ListenAddr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	c.KeycloakURL = strings.TrimRight(c.KeycloakURL, "/")
	c.KeycloakIssuer = strings.TrimRight(c.KeycloakIssuer, "/")
	c.ConsoleURL = strings.TrimRight(c.ConsoleURL, "/")
	if c.ConsoleURL == "" {
		c.ConsoleURL = c.PublicURL
	}
	if c.Audience == "" {
		c.Audience = c.ClientID
	}
	c.SigningKeyFileGiven = c.SigningKeyFile != ""
	if c.SigningKeyFile == "" && c.DataDir != "" {
		c.SigningKeyFile = filepath.Join(c.DataDir, "signing-key.pem")
	}
	if c.EncryptionKey == "" && c.EncryptionKeyFile == "" && c.DataDir != "" {
		c.EncryptionKeyFile = filepath.Join(c.DataDir, "encryption-key")
	}
}

// EncryptionKeyGenerated tells whether the encryption key is the data dir's own,
// created when absent; a key given by a variable or a file of the operator's is never
// generated.
func (c Config) EncryptionKeyGenerated() bool {
	return c.EncryptionKey == "" && c.DataDir != "" &&
		filepath.Clean(c.EncryptionKeyFile) == filepath.Join(filepath.Clean(c.DataDir), "encryption-key")
}

// parseValues turns the texts of typed settings into values, keeping each text for
// Validate: a value that does not parse stays zero and Validate names it.
func (c *Config) parseValues(raw rawSettings, durations []durationSetting) {
	for i, ds := range durations {
		c.given[ds.env] = raw.durations[i]
		if d, err := time.ParseDuration(raw.durations[i]); err == nil {
			*ds.dst = d
		}
	}
	for _, b := range []struct {
		env, text string
		dst       *bool
	}{{"KEYWARD_ALLOW_UNLIMITED", raw.allowUnlimited, &c.AllowUnlimited}, {"KEYWARD_TOKEN_CACHE", raw.tokenCache, &c.TokenCache},
		{"KEYWARD_ACL_ALLOW_TOP_LEVEL", raw.aclAllowTopLevel, &c.ACLAllowTopLevel}} {
		c.given[b.env] = b.text
		*b.dst, _ = strconv.ParseBool(b.text)
	}
	number := func(env, text string, dst *int) {
		c.given[env] = text
		if n, err := strconv.Atoi(text); err == nil {
			*dst = n
		}
	}
	number("KEYWARD_RATE_LIMIT_REQUESTS", c.RateRequestsRaw, &c.RateRequests)
	number("KEYWARD_MAX_KEYS_PER_USER", raw.maxKeys, &c.MaxKeysPerUser)
	number("KEYWARD_EXCHANGE_FAILURE_BUDGET", raw.failureBudget, &c.FailureBudget)
	number("KEYWARD_CONSOLE_LOGIN_RATE", raw.consoleLoginRate, &c.ConsoleLoginRate)
	if raw.ownerMaxRate == "" {
		c.OwnerMaxRate = 10 * c.RateRequests
	} else {
		number("KEYWARD_OWNER_MAX_RATE_REQUESTS", raw.ownerMaxRate, &c.OwnerMaxRate)
	}

	for _, p := range strings.Split(raw.trusted, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	for _, p := range strings.Split(raw.webhookNetworks, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.WebhookAllowedNetworks = append(c.WebhookAllowedNetworks, p)
		}
	}
	for _, h := range strings.Split(raw.redirectHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.ClientRedirectHosts = append(c.ClientRedirectHosts, h)
		}
	}
	if raw.deny == "" {
		raw.deny = "realm-admin," + c.AdminRole
	}
	for _, r := range strings.Split(raw.deny, ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.DenyRoles = append(c.DenyRoles, r)
		}
	}
}

// UsesDataDir tells whether anything lives in DataDir: the SQLite file, the generated
// pepper or the signing key.
func (c Config) UsesDataDir() bool {
	return c.DatabaseURL == "" || c.KeyPepper == "" || c.EncryptionKeyGenerated() ||
		filepath.Dir(c.SigningKeyFile) == filepath.Clean(c.DataDir)
}

// aclGroupName is provisioning's rule for ACL group names (a test holds the two
// together): it goes into Keycloak group paths and tokens.
var aclGroupName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate reports every problem of the configuration at once, or nil. A
// configuration it accepts is one that wiring takes without failing on a value.
func (c Config) Validate() error {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	for _, check := range []func(func(string, ...any)){
		c.checkAddresses, c.checkClients, c.checkValues, c.checkACLParent,
		c.checkRateLimits, c.checkLists, c.checkPaths, c.checkConsole, c.checkEvents,
	} {
		check(bad)
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return nil
}

// checkAddresses checks listen address, URLs and the database URL.
func (c Config) checkAddresses(bad func(string, ...any)) {
	if _, port, err := net.SplitHostPort(c.ListenAddr); err != nil || !validPort(port) {
		bad("KEYWARD_LISTEN_ADDR %q is not host:port", c.ListenAddr)
	}
	if c.MetricsListenAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListenAddr); err != nil || !validPort(port) {
			bad("KEYWARD_METRICS_LISTEN_ADDR %q is not host:port", c.MetricsListenAddr)
		} else if c.MetricsListenAddr == c.ListenAddr && port != "0" {
			bad("KEYWARD_METRICS_LISTEN_ADDR must differ from KEYWARD_LISTEN_ADDR: it keeps /metrics off the public listener")
		}
	}
	checkURL := func(name, v string, schemes ...string) {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
			bad("%s %q must be an absolute %s URL", name, v, strings.Join(schemes, " or "))
		}
	}
	checkURL("KEYWARD_PUBLIC_URL", c.PublicURL, "http", "https")
	checkURL("KEYWARD_KEYCLOAK_URL", c.KeycloakURL, "http", "https")
	if c.KeycloakIssuer != "" {
		checkURL("KEYWARD_KEYCLOAK_ISSUER", c.KeycloakIssuer, "http", "https")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || !slices.Contains([]string{"postgres", "postgresql", "sqlite"}, u.Scheme) {
			bad("KEYWARD_DATABASE_URL must start with postgres://, postgresql:// or sqlite://")
		}
	}
	// Neither URL is repeated: it may hold a password.
	if c.DatabaseListenURL != "" {
		u, err := url.Parse(c.DatabaseListenURL)
		switch {
		case err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql"):
			bad("KEYWARD_DATABASE_LISTEN_URL must start with postgres:// or postgresql://")
		case !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://"):
			bad("KEYWARD_DATABASE_LISTEN_URL is set but KEYWARD_DATABASE_URL is not PostgreSQL: only PostgreSQL has a notification connection")
		}
	}
}

// checkClients checks required values and the two Keycloak identities.
func (c Config) checkClients(bad func(string, ...any)) {
	for _, req := range []struct{ name, v string }{
		{"KEYWARD_REALM", c.Realm}, {"KEYWARD_CLIENT_ID", c.ClientID},
		{"KEYWARD_CLIENT_SECRET", c.ClientSecret}, {"KEYWARD_IDP_ALIAS", c.IdPAlias},
		{"KEYWARD_ADMIN_CLIENT_ID", c.AdminClientID}, {"KEYWARD_ADMIN_CLIENT_SECRET", c.AdminSecret},
		{"KEYWARD_CLI_CLIENT_ID", c.CLIClientID},
		{"KEYWARD_DATA_DIR", c.DataDir}, {"KEYWARD_ADMIN_ROLE", c.AdminRole},
	} {
		if strings.TrimSpace(req.v) == "" {
			bad("%s is required", req.name)
		}
	}
	if c.AdminClientID != "" && c.AdminClientID == c.ClientID {
		bad("KEYWARD_ADMIN_CLIENT_ID and KEYWARD_CLIENT_ID are both %q: the client that makes admin calls must not be the one exchanged tokens are issued to (README \"Security\")", c.ClientID)
	}
	if c.KeyPepper != "" && len(c.KeyPepper) < 32 {
		bad("KEYWARD_KEY_PEPPER must be at least 32 bytes (it is %d)", len(c.KeyPepper))
	}
	c.checkEncryptionKey(bad)
}

// checkEncryptionKey: one of the variable and the file, the variable 32 bytes of base64
// (the key is never repeated in a message).
func (c Config) checkEncryptionKey(bad func(string, ...any)) {
	if c.EncryptionKey != "" && c.EncryptionKeyFile != "" {
		bad("KEYWARD_ENCRYPTION_KEY and KEYWARD_ENCRYPTION_KEY_FILE are both set: set one")
	}
	if c.EncryptionKey != "" {
		if _, err := sealbox.ParseKey(c.EncryptionKey); err != nil {
			bad("KEYWARD_ENCRYPTION_KEY must be %d bytes in base64: %v (e.g. openssl rand -base64 32)", sealbox.KeySize, err)
		}
	}
	if c.EncryptionKeyFile != "" && !c.EncryptionKeyGenerated() {
		if st, err := os.Stat(c.EncryptionKeyFile); err != nil || !st.Mode().IsRegular() {
			bad("KEYWARD_ENCRYPTION_KEY_FILE %q must be a readable regular file", c.EncryptionKeyFile)
		}
	}
}

// checkValues checks durations, log settings, numbers and booleans.
func (c Config) checkValues(bad func(string, ...any)) {
	for _, ds := range c.durations() {
		text, ok := c.given[ds.env]
		d, err := time.ParseDuration(text)
		unparsed := ok && err != nil
		if !unparsed && d != *ds.dst {
			text = ds.dst.String()
		}
		if unparsed || *ds.dst < ds.min || *ds.dst > ds.max {
			bad("%s %q must be a duration between %v and %v, e.g. %s", ds.env, text, ds.min, ds.max, ds.def)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("KEYWARD_LOG_LEVEL %q must be debug, info, warn or error", c.LogLevel)
	}
	if !slices.Contains([]string{"json", "console"}, c.LogFormat) {
		bad("KEYWARD_LOG_FORMAT %q must be json or console", c.LogFormat)
	}
	for _, n := range c.numbers() {
		text, ok := c.given[n.env]
		v, err := strconv.Atoi(text)
		unparsed := ok && err != nil
		if !unparsed && v != *n.dst {
			text = strconv.Itoa(*n.dst)
		}
		if unparsed || *n.dst < n.min || *n.dst > n.max {
			bad("%s %q must be a whole number between %d and %d", n.env, text, n.min, n.max)
		}
	}
	for _, b := range c.bools() {
		if text, ok := c.given[b.env]; ok && !isBool(text) {
			bad("%s %q must be true or false", b.env, text)
		}
	}
}

// checkACLParent checks the ACL parent group.
func (c Config) checkACLParent(bad func(string, ...any)) {
	// The ACL parent: provisioning's name rule, or "/" (provisioning reads "" alike)
	// for the realm's top-level groups, only with the explicit opt-in.
	switch {
	case c.ACLParentGroup == "/" || c.ACLParentGroup == "":
		if !c.ACLAllowTopLevel {
			bad("KEYWARD_ACL_PARENT_GROUP is / but KEYWARD_ACL_ALLOW_TOP_LEVEL is not true: with /, every top-level group of the realm " +
				"(including ones that carry roles or mean something else to other applications) would become an ACL group that " +
				"consumers' service accounts can be put in; use a parent group of Keyward's own, or set KEYWARD_ACL_ALLOW_TOP_LEVEL=true to accept that")
		}
	case !aclGroupName.MatchString(c.ACLParentGroup):
		bad("KEYWARD_ACL_PARENT_GROUP %q must be 1..64 of [a-z0-9._-], starting with a letter or digit (or / for the realm's top-level groups)", c.ACLParentGroup)
	}
}

// checkRateLimits checks the default limit and its backend.
func (c Config) checkRateLimits(bad func(string, ...any)) {
	rateText, ok := c.given["KEYWARD_RATE_LIMIT_REQUESTS"]
	if _, err := strconv.Atoi(rateText); c.RateRequests == 0 && !c.AllowUnlimited && (!ok || err == nil) {
		bad("KEYWARD_RATE_LIMIT_REQUESTS is 0 (unlimited) but KEYWARD_ALLOW_UNLIMITED is false")
	}
	switch c.RateBackend {
	case "memory":
	case "redis":
		// The URL may hold a password: no message repeats it.
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("KEYWARD_REDIS_URL must be a redis:// or rediss:// URL when KEYWARD_RATE_LIMIT_BACKEND is redis")
		} else if _, err := redis.ParseURL(c.RedisURL); err != nil {
			// url.Parse succeeded, so this is go-redis's own complaint (database number,
			// path or query option), which does not repeat the user info.
			bad("KEYWARD_REDIS_URL is not a valid redis URL: %v", err)
		}
	default:
		bad("KEYWARD_RATE_LIMIT_BACKEND %q must be memory or redis", c.RateBackend)
	}
}

// checkLists checks trusted proxies, allowed networks and hosts, and denied roles.
func (c Config) checkLists(bad func(string, ...any)) {
	for _, p := range c.TrustedProxies {
		if !validProxy(p) {
			bad("KEYWARD_TRUSTED_PROXIES entry %q is not a CIDR or an address", p)
		}
	}
	if _, problem := cidrlist.Normalize(c.WebhookAllowedNetworks, 100); problem != "" {
		bad("KEYWARD_WEBHOOK_ALLOWED_NETWORKS: %s", problem)
	}
	if _, problem := hostlist.Parse(c.ClientRedirectHosts); problem != "" {
		bad("KEYWARD_CLIENT_REDIRECT_HOSTS: %s", problem)
	}
	for _, r := range c.DenyRoles {
		// The exchange's rule (exchange.NewRoleDenylist): the client id ends at the last colon.
		r = strings.TrimSpace(r)
		if i := strings.LastIndex(r, ":"); r != "" && (i == 0 || i == len(r)-1) {
			bad("KEYWARD_DENY_ROLES entry %q must be a realm role, client:role or client:*", r)
		}
	}
}

// checkPaths checks what wiring creates must be creatable, what it reads a file.
func (c Config) checkPaths(bad func(string, ...any)) {
	// Paths: what wiring will create must be creatable, what it will read must be a file.
	dataDirBad := false
	if c.DataDir != "" && c.UsesDataDir() {
		if why := dirProblem(c.DataDir); why != "" {
			bad("KEYWARD_DATA_DIR %q %s", c.DataDir, why)
			dataDirBad = true
		}
	}
	if c.SigningKeyFile == "" && c.DataDir != "" { // Load's default is in the data dir
		bad("KEYWARD_SIGNING_KEY_FILE is required")
	}
	if c.SigningKeyFile != "" {
		st, err := os.Stat(c.SigningKeyFile)
		switch {
		case err == nil && st.IsDir():
			bad("KEYWARD_SIGNING_KEY_FILE %q is a directory, not a key file", c.SigningKeyFile)
		case err == nil && !st.Mode().IsRegular():
			bad("KEYWARD_SIGNING_KEY_FILE %q is not a regular file", c.SigningKeyFile)
		case err == nil:
		default:
			// Absent: it is created, with its directory (as wiring makes it).
			dir := filepath.Dir(c.SigningKeyFile)
			if dataDirBad && filepath.Clean(dir) == filepath.Clean(c.DataDir) {
				break // its directory is the data dir, named above
			}
			if why := dirProblem(dir); why != "" {
				bad("KEYWARD_SIGNING_KEY_FILE %q cannot be created: its directory %q %s", c.SigningKeyFile, dir, why)
			} else if !errors.Is(err, fs.ErrNotExist) {
				bad("KEYWARD_SIGNING_KEY_FILE %q cannot be read: %v", c.SigningKeyFile, errors.Unwrap(err))
			}
		}
	}
}

// checkConsole checks the web console's settings when it is on.
func (c Config) checkConsole(bad func(string, ...any)) {
	if c.ConsoleClientSecret == "" {
		return
	}
	if strings.TrimSpace(c.ConsoleClientID) == "" {
		bad("KEYWARD_CONSOLE_CLIENT_ID is required when KEYWARD_CONSOLE_CLIENT_SECRET is set")
	}
	if c.ConsoleClientID != "" && (c.ConsoleClientID == c.ClientID || c.ConsoleClientID == c.AdminClientID) {
		bad("KEYWARD_CONSOLE_CLIENT_ID %q must be a client of its own, not KEYWARD_CLIENT_ID nor KEYWARD_ADMIN_CLIENT_ID", c.ConsoleClientID)
	}
	if u, err := url.Parse(c.ConsoleURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		bad("KEYWARD_CONSOLE_URL %q must be an absolute http or https URL without query", c.ConsoleURL)
	}
	if c.ConsoleSessionMax > 0 && c.ConsoleSessionIdle > c.ConsoleSessionMax {
		bad("KEYWARD_CONSOLE_SESSION_IDLE %v must not be longer than KEYWARD_CONSOLE_SESSION_MAX %v", c.ConsoleSessionIdle, c.ConsoleSessionMax)
	}
}

func isBool(s string) bool {
	_, err := strconv.ParseBool(s)
	return err == nil
}

func validPort(port string) bool {
	_, err := net.LookupPort("tcp", port)
	return err == nil
}

// validProxy: what the old check accepted (a netip prefix or address) and gin's
// SetTrustedProxies takes (net.ParseCIDR, or net.ParseIP without a zone).
func validProxy(p string) bool {
	if _, err := netip.ParsePrefix(p); err != nil {
		if _, err := netip.ParseAddr(p); err != nil {
			return false
		}
	}
	if strings.Contains(p, "/") {
		_, _, err := net.ParseCIDR(p)
		return err == nil
	}
	return net.ParseIP(p) != nil
}

// dirProblem says why dir cannot be used as a directory that exists or that
// os.MkdirAll can create, or "" when it can.
func dirProblem(dir string) string {
	dir = filepath.Clean(dir)
	for p := dir; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err == nil {
			switch {
			case st.IsDir():
				return ""
			case p == dir:
				return "is not a directory"
			default:
				return fmt.Sprintf("cannot be created: %q is not a directory", p)
			}
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Sprintf("cannot be used: %v", errors.Unwrap(err))
		}
		if filepath.Dir(p) == p {
			return "cannot be created"
		}
	}
}
