// Package config is Keyward's configuration: KEYWARD_* environment variables and the
// flags that override them, parsed once by Load and checked once by Validate.
//
// Every setting is one entry of the table in settings.go (name, default, help, kind
// and bounds, destination): Load, the flags and their -h text, Validate's generic
// pass and Variables read it. What involves more than one setting, or more than a
// kind and bounds (URLs that may hold passwords, paths, lists' entries), is an
// explicit check after the generic pass.
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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/cidrlist"
	"github.com/keyward/keyward/internal/hostlist"
	"github.com/keyward/keyward/internal/sealbox"
	"github.com/keyward/keyward/provisioning"
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
	KeyStateMaxAge time.Duration
	DataDir        string
	KeycloakURL    string
	KeycloakIssuer string
	Realm          string
	ClientID       string
	ClientSecret   string
	AdminClientID  string
	AdminSecret    string
	CLIClientID    string
	IdPAlias       string
	// LimitedClientID: the exchange client of keys limited to roles (keycloak.EnsureLimitedClient).
	LimitedClientID string
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
	RateRequests   int
	AllowUnlimited bool
	RateBackend    string
	RedisURL       string
	TrustedProxies []string
	TokenCache     bool
	LogLevel       string
	LogFormat      string

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
	// AuditRetentionDays and UsageRetentionDays: how many days audit events and usage
	// counters are kept (the retention package prunes older ones); 0: for ever.
	AuditRetentionDays int
	UsageRetentionDays int

	// given is the text Load read for each setting, by variable name: Validate reports
	// one that does not read as its kind, and quotes the text as given while the value
	// is still the one read from it.
	given map[string]string
}

// Load reads the environment, then the flags in args (flags win), and applies the
// defaults. It fails only on the command line itself (an unknown flag; flag.ErrHelp
// after -h printed the usage): a value that does not read as its type is kept for
// Validate, which reports it with every other problem.
func Load(args []string, getenv func(string) string) (Config, error) {
	var c Config
	settings := c.settings()
	// Flags show the table's defaults, never the environment's values (secrets).
	texts := make([]string, len(settings))
	fs := flag.NewFlagSet("keyward", flag.ContinueOnError)
	for i, s := range settings {
		fs.StringVar(&texts[i], flagName(s.env), s.def, s.help+" ["+s.env+"]")
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	c.given = map[string]string{}
	for i, s := range settings {
		text := texts[i]
		if v := getenv(s.env); v != "" && !onCommandLine[flagName(s.env)] {
			text = v
		}
		if text == "" && s.def == "" {
			continue // unset: applyDefaults may derive it from another setting
		}
		c.given[s.env] = text
		s.v.load(text)
	}
	c.applyDefaults()
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
	if _, set := c.given["KEYWARD_OWNER_MAX_RATE_REQUESTS"]; !set {
		c.OwnerMaxRate = 10 * c.RateRequests
	}
	if _, set := c.given["KEYWARD_DENY_ROLES"]; !set {
		c.DenyRoles = splitList("realm-admin," + c.AdminRole)
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

// UsesDataDir tells whether anything lives in DataDir: the SQLite file, the generated
// pepper or the signing key.
func (c Config) UsesDataDir() bool {
	return c.DatabaseURL == "" || c.KeyPepper == "" || c.EncryptionKeyGenerated() ||
		filepath.Dir(c.SigningKeyFile) == filepath.Clean(c.DataDir)
}

// Validate reports every problem of the configuration at once, or nil. A
// configuration it accepts is one that wiring takes without failing on a value.
func (c Config) Validate() error {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	for _, check := range []func(func(string, ...any)){
		c.checkSettings, c.checkAddresses, c.checkClients, c.checkACLParent,
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

// checkClients checks the two Keycloak identities and the secrets' forms.
func (c Config) checkClients(bad func(string, ...any)) {
	if c.AdminClientID != "" && c.AdminClientID == c.ClientID {
		bad("KEYWARD_ADMIN_CLIENT_ID and KEYWARD_CLIENT_ID are both %q: the client that makes admin calls must not be the one exchanged tokens are issued to (docs/operating/security.md)", c.ClientID)
	}
	if c.LimitedClientID != "" && (c.LimitedClientID == c.ClientID || c.LimitedClientID == c.AdminClientID) {
		bad("KEYWARD_LIMITED_CLIENT_ID is %q, a client Keyward already uses otherwise: limited keys need a client of their own", c.LimitedClientID)
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
	case !provisioning.IsACLGroupName(c.ACLParentGroup):
		bad("KEYWARD_ACL_PARENT_GROUP %q must be %s (or / for the realm's top-level groups)", c.ACLParentGroup, api.ACLGroupRule)
	}
}

// checkRateLimits checks the default limit and its backend.
func (c Config) checkRateLimits(bad func(string, ...any)) {
	rateText, ok := c.given["KEYWARD_RATE_LIMIT_REQUESTS"]
	if _, err := strconv.Atoi(rateText); c.RateRequests == 0 && !c.AllowUnlimited && (!ok || err == nil) {
		bad("KEYWARD_RATE_LIMIT_REQUESTS is 0 (unlimited) but KEYWARD_ALLOW_UNLIMITED is false")
	}
	if c.RateBackend == "redis" {
		// The URL may hold a password: no message repeats it.
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("KEYWARD_REDIS_URL must be a redis:// or rediss:// URL when KEYWARD_RATE_LIMIT_BACKEND is redis")
		} else if _, err := redis.ParseURL(c.RedisURL); err != nil {
			// url.Parse succeeded, so this is go-redis's own complaint (database number,
			// path or query option), which does not repeat the user info.
			bad("KEYWARD_REDIS_URL is not a valid redis URL: %v", err)
		}
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

// LoadValid is what the service starts from: Load, then Validate, every problem listed
// in the error. Wiring a configuration it returns without error never fails on a value.
func LoadValid(args []string, getenv func(string) string) (Config, error) {
	c, err := Load(args, getenv)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}
