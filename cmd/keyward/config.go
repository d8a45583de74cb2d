package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is Keyward's configuration: KEYWARD_* environment variables, overridable by
// flags of the same name in lower case with dashes (KEYWARD_LISTEN_ADDR → -listen-addr).
type Config struct {
	ListenAddr      string
	PublicURL       string
	DatabaseURL     string
	DataDir         string
	KeycloakURL     string
	KeycloakIssuer  string
	Realm           string
	ClientID        string
	ClientSecret    string
	AdminClientID   string
	AdminSecret     string
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

	// ACLAllowTopLevel accepts KEYWARD_ACL_PARENT_GROUP=/ (see its check).
	ACLAllowTopLevel    bool
	aclAllowTopLevelRaw string

	// DenyRoles: roles no exchanged token may carry and no admin may act upon
	// (realm-management:* is always added by the exchange).
	DenyRoles []string
	denyRaw   string
	// MaxKeysPerUser bounds a user's live keys; OwnerMaxRate is the highest rate
	// limit an owner may set on their key (requests per RateWindow; 0 = no ceiling).
	MaxKeysPerUser    int
	maxKeysRaw        string
	OwnerMaxRate      int
	ownerMaxRateRaw   string
	FailureBudget     int
	failureBudgetRaw  string
	FailureWindow     time.Duration
	RateRequestsRaw   string
	RateRequests      int
	AllowUnlimited    bool
	allowUnlimitedRaw string
	RateBackend       string
	RedisURL          string
	TrustedProxies    []string
	trustedRaw        string
	TokenCache        bool
	tokenCacheRaw     string
	LogLevel          string
	LogFormat         string
}

// flagHelp: -h was given and usage printed; exit 0.
var flagHelp = flag.ErrHelp

type setting struct {
	env, def, help string
	dst            *string
}

func (c *Config) settings() []setting {
	return []setting{
		{"KEYWARD_LISTEN_ADDR", "127.0.0.1:8080", "address to listen on", &c.ListenAddr},
		{"KEYWARD_PUBLIC_URL", "", "Keyward's URL as Keycloak reaches it: issuer of assertions, base of the JWKS URL (default http://<listen addr>)", &c.PublicURL},
		{"KEYWARD_DATABASE_URL", "", "postgres://… for PostgreSQL; empty for the embedded SQLite file in the data dir", &c.DatabaseURL},
		{"KEYWARD_DATA_DIR", "keyward-data", "directory for the SQLite file, the signing key and the pepper", &c.DataDir},
		{"KEYWARD_KEYCLOAK_URL", "http://127.0.0.1:8180", "Keycloak base URL", &c.KeycloakURL},
		{"KEYWARD_REALM", "keyward", "Keycloak realm", &c.Realm},
		{"KEYWARD_KEYCLOAK_ISSUER", "", "the realm's issuer when Keycloak's public hostname differs from KEYWARD_KEYCLOAK_URL (default <keycloak url>/realms/<realm>)", &c.KeycloakIssuer},
		{"KEYWARD_CLIENT_ID", "keyward", "the confidential client exchanged tokens are issued to (JWT Authorization Grant); it must hold no realm-management roles in its scope", &c.ClientID},
		{"KEYWARD_CLIENT_SECRET", "", "secret of that client (required)", &c.ClientSecret},
		{"KEYWARD_ADMIN_CLIENT_ID", "keyward-management", "the confidential client whose service account makes Keyward's admin calls (realm-management roles); never the exchange client", &c.AdminClientID},
		{"KEYWARD_ADMIN_CLIENT_SECRET", "", "secret of that client (required)", &c.AdminSecret},
		{"KEYWARD_IDP_ALIAS", "keyward", "alias of the realm's jwt-authorization-grant identity provider that trusts Keyward", &c.IdPAlias},
		{"KEYWARD_ADMIN_ROLE", "keyward-admin", "realm role of Keyward admins", &c.AdminRole},
		{"KEYWARD_ACL_PARENT_GROUP", "keyward-acl", "top-level Keycloak group whose subgroups are the ACL groups (created if absent); / for the realm's top-level groups (needs KEYWARD_ACL_ALLOW_TOP_LEVEL=true)", &c.ACLParentGroup},
		{"KEYWARD_ACL_ALLOW_TOP_LEVEL", "false", "accept KEYWARD_ACL_PARENT_GROUP=/, which makes every top-level group of the realm an ACL group (true/false)", &c.aclAllowTopLevelRaw},
		{"KEYWARD_AUDIENCE", "", "audience that management-API and console tokens must carry in aud (default: KEYWARD_CLIENT_ID); the realm's login clients add it with an audience mapper", &c.Audience},
		{"KEYWARD_DENY_ROLES", "", "comma-separated roles no exchanged token may carry and no admin may create keys for (realm role, client:role, client:*); realm-management:* is always denied (default: realm-admin,<KEYWARD_ADMIN_ROLE>)", &c.denyRaw},
		{"KEYWARD_MAX_KEYS_PER_USER", "50", "most live keys one user may hold", &c.maxKeysRaw},
		{"KEYWARD_OWNER_MAX_RATE_REQUESTS", "", "highest rate limit an owner may set on their key, in requests per KEYWARD_RATE_LIMIT_WINDOW; admins may exceed it (default: 10 x KEYWARD_RATE_LIMIT_REQUESTS)", &c.ownerMaxRateRaw},
		{"KEYWARD_EXCHANGE_FAILURE_BUDGET", "30", "failed exchanges one client address may make per KEYWARD_EXCHANGE_FAILURE_WINDOW before it gets 429 (0 = no throttle)", &c.failureBudgetRaw},
		{"KEYWARD_KEY_PEPPER", "", "secret of at least 32 bytes keying the API-key hashes (default: generated into the data dir)", &c.KeyPepper},
		{"KEYWARD_SIGNING_KEY_FILE", "", "PEM file of the assertion-signing key (default: <data dir>/signing-key.pem, created if absent)", &c.SigningKeyFile},
		{"KEYWARD_LOG_LEVEL", "info", "debug, info, warn or error", &c.LogLevel},
		{"KEYWARD_LOG_FORMAT", "json", "json or console", &c.LogFormat},
		{"KEYWARD_RATE_LIMIT_REQUESTS", "600", "default rate limit of keys without their own: requests per KEYWARD_RATE_LIMIT_WINDOW (0 = unlimited, only with KEYWARD_ALLOW_UNLIMITED)", &c.RateRequestsRaw},
		{"KEYWARD_ALLOW_UNLIMITED", "false", "whether keys may be unlimited (true/false)", &c.allowUnlimitedRaw},
		{"KEYWARD_RATE_LIMIT_BACKEND", "memory", "memory (one replica) or redis (the limit holds across replicas)", &c.RateBackend},
		{"KEYWARD_REDIS_URL", "", "redis://… for the redis rate-limit backend", &c.RedisURL},
		{"KEYWARD_TRUSTED_PROXIES", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is believed", &c.trustedRaw},
		{"KEYWARD_TOKEN_CACHE", "false", "reuse a key's Keycloak token until the margin before it expires (true/false)", &c.tokenCacheRaw},
	}
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
	}
}

func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "KEYWARD_")), "_", "-")
}

// loadConfig reads the environment, then flags, then validates; the error lists every
// problem at once.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("keyward", flag.ContinueOnError)
	for _, s := range c.settings() {
		v := getenv(s.env)
		if v == "" {
			v = s.def
		}
		fs.StringVar(s.dst, flagName(s.env), v, s.help+" ["+s.env+"]")
	}
	durations := c.durations()
	raw := make([]string, len(durations))
	for i, d := range durations {
		raw[i] = getenv(d.env)
		if raw[i] == "" {
			raw[i] = d.def
		}
		fs.StringVar(&raw[i], flagName(d.env), raw[i], d.help+" ["+d.env+"]")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, flagHelp
		}
		return c, err
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		bad("KEYWARD_LISTEN_ADDR %q is not host:port", c.ListenAddr)
	}
	if c.PublicURL == "" && c.ListenAddr != "" {
		c.PublicURL = "http://" + c.ListenAddr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	checkURL := func(name, v string, schemes ...string) {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || !contains(schemes, u.Scheme) {
			bad("%s %q must be an absolute %s URL", name, v, strings.Join(schemes, " or "))
		}
	}
	checkURL("KEYWARD_PUBLIC_URL", c.PublicURL, "http", "https")
	checkURL("KEYWARD_KEYCLOAK_URL", c.KeycloakURL, "http", "https")
	if c.KeycloakIssuer != "" {
		checkURL("KEYWARD_KEYCLOAK_ISSUER", c.KeycloakIssuer, "http", "https")
		c.KeycloakIssuer = strings.TrimRight(c.KeycloakIssuer, "/")
	}
	c.KeycloakURL = strings.TrimRight(c.KeycloakURL, "/")
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || !contains([]string{"postgres", "postgresql", "sqlite"}, u.Scheme) {
			bad("KEYWARD_DATABASE_URL must start with postgres://, postgresql:// or sqlite://")
		}
	}
	for _, req := range []struct{ name, v string }{
		{"KEYWARD_REALM", c.Realm}, {"KEYWARD_CLIENT_ID", c.ClientID},
		{"KEYWARD_CLIENT_SECRET", c.ClientSecret}, {"KEYWARD_IDP_ALIAS", c.IdPAlias},
		{"KEYWARD_ADMIN_CLIENT_ID", c.AdminClientID}, {"KEYWARD_ADMIN_CLIENT_SECRET", c.AdminSecret},
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
	for i, ds := range durations {
		d, err := time.ParseDuration(raw[i])
		if err != nil || d < ds.min || d > ds.max {
			bad("%s %q must be a duration between %v and %v, e.g. %s", ds.env, raw[i], ds.min, ds.max, ds.def)
			continue
		}
		*ds.dst = d
	}
	if !contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("KEYWARD_LOG_LEVEL %q must be debug, info, warn or error", c.LogLevel)
	}
	if !contains([]string{"json", "console"}, c.LogFormat) {
		bad("KEYWARD_LOG_FORMAT %q must be json or console", c.LogFormat)
	}
	if n, err := strconv.Atoi(c.RateRequestsRaw); err != nil || n < 0 || n > 1_000_000 {
		bad("KEYWARD_RATE_LIMIT_REQUESTS %q must be a whole number between 0 and 1000000", c.RateRequestsRaw)
	} else {
		c.RateRequests = n
	}
	for _, b := range []struct {
		name, raw string
		dst       *bool
	}{{"KEYWARD_ALLOW_UNLIMITED", c.allowUnlimitedRaw, &c.AllowUnlimited}, {"KEYWARD_TOKEN_CACHE", c.tokenCacheRaw, &c.TokenCache},
		{"KEYWARD_ACL_ALLOW_TOP_LEVEL", c.aclAllowTopLevelRaw, &c.ACLAllowTopLevel}} {
		v, err := strconv.ParseBool(b.raw)
		if err != nil {
			bad("%s %q must be true or false", b.name, b.raw)
		}
		*b.dst = v
	}
	if c.ACLParentGroup == "/" && !c.ACLAllowTopLevel {
		bad("KEYWARD_ACL_PARENT_GROUP is / but KEYWARD_ACL_ALLOW_TOP_LEVEL is not true: with /, every top-level group of the realm " +
			"(including ones that carry roles or mean something else to other applications) would become an ACL group that " +
			"consumers' service accounts can be put in; use a parent group of Keyward's own, or set KEYWARD_ACL_ALLOW_TOP_LEVEL=true to accept that")
	}
	if c.RateRequests == 0 && !c.AllowUnlimited && c.RateRequestsRaw == "0" {
		bad("KEYWARD_RATE_LIMIT_REQUESTS is 0 (unlimited) but KEYWARD_ALLOW_UNLIMITED is false")
	}
	switch c.RateBackend {
	case "memory":
	case "redis":
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("KEYWARD_REDIS_URL must be a redis:// or rediss:// URL when KEYWARD_RATE_LIMIT_BACKEND is redis")
		}
	default:
		bad("KEYWARD_RATE_LIMIT_BACKEND %q must be memory or redis", c.RateBackend)
	}
	for _, p := range strings.Split(c.trustedRaw, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad("KEYWARD_TRUSTED_PROXIES entry %q is not a CIDR or an address", p)
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if c.Audience == "" {
		c.Audience = c.ClientID
	}
	if c.denyRaw == "" {
		c.denyRaw = "realm-admin," + c.AdminRole
	}
	for _, r := range strings.Split(c.denyRaw, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if i := strings.LastIndex(r, ":"); i == 0 || i == len(r)-1 {
			bad("KEYWARD_DENY_ROLES entry %q must be a realm role, client:role or client:*", r)
			continue
		}
		c.DenyRoles = append(c.DenyRoles, r)
	}
	wholeNumber := func(name, raw string, min, max int, dst *int) {
		n, err := strconv.Atoi(raw)
		if err != nil || n < min || n > max {
			bad("%s %q must be a whole number between %d and %d", name, raw, min, max)
			return
		}
		*dst = n
	}
	wholeNumber("KEYWARD_MAX_KEYS_PER_USER", c.maxKeysRaw, 1, 100_000, &c.MaxKeysPerUser)
	wholeNumber("KEYWARD_EXCHANGE_FAILURE_BUDGET", c.failureBudgetRaw, 0, 1_000_000, &c.FailureBudget)
	if c.ownerMaxRateRaw == "" {
		c.OwnerMaxRate = 10 * c.RateRequests
	} else {
		wholeNumber("KEYWARD_OWNER_MAX_RATE_REQUESTS", c.ownerMaxRateRaw, 0, 10_000_000, &c.OwnerMaxRate)
	}
	if c.SigningKeyFile == "" && c.DataDir != "" {
		c.SigningKeyFile = filepath.Join(c.DataDir, "signing-key.pem")
	}
	if len(problems) > 0 {
		return c, errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func envOrEmpty(name string) string { return os.Getenv(name) }
