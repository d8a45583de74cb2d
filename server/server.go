// Package server wires Keyward: the store, Keycloak, the services, the API and the
// console, and the background work, from a validated configuration (config.LoadValid).
// cmd/keyward runs it through the command line (keyward server, keyward signing-keys);
// the end-to-end tests drive New.
package server

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/leaks"
	"github.com/keyward/keyward/metrics"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
	"github.com/keyward/keyward/ratelimit"
	"github.com/keyward/keyward/webhooks"
)

// App is Keyward wired up: what Serve serves and what end-to-end tests drive.
type App struct {
	handler http.Handler
	// metrics serves /metrics on KEYWARD_METRICS_LISTEN_ADDR; nil: handler serves it.
	metrics http.Handler
	store   *models.Store
	usage   *exchange.Usage
	cancel  context.CancelFunc
	done    chan struct{}
	// stopWebhooks stops the webhook dispatcher once its attempts under way are recorded.
	stopWebhooks func()
}

// Handler serves the API, the console and (without a metrics listener) /metrics.
func (a *App) Handler() http.Handler { return a.handler }

// Metrics serves /metrics on KEYWARD_METRICS_LISTEN_ADDR; nil: Handler serves it.
func (a *App) Metrics() http.Handler { return a.metrics }

// Store is the store the App opened.
func (a *App) Store() *models.Store { return a.store }

// Close stops the background work (flushing last-use times once more) and the store.
func (a *App) Close() error {
	a.cancel()
	<-a.done
	a.stopWebhooks()
	return a.store.Close()
}

// New wires every dependency explicitly. cfg has passed Validate (config.LoadValid): what
// fails here is the world (files, the store, Keycloak), never a configuration value.
func New(ctx context.Context, cfg config.Config, log *zap.Logger) (*App, error) {
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = store.Close()
		}
	}()
	hasher, priv, err := loadSecrets(cfg)
	if err != nil {
		return nil, err
	}
	kc := newKeycloak(cfg)
	ring, err := sharedKeys(ctx, cfg, store, hasher, priv, log)
	if err != nil {
		return nil, err
	}
	signer := exchange.NewRingSigner(ring, cfg.PublicURL, kc.Issuer(), time.Now)
	verifier, err := keycloak.NewVerifier(ctx, keycloak.VerifierConfig{
		Issuer:   kc.Issuer(),
		CertsURL: kc.CertsURL(),
		Audience: cfg.Audience,
		Timeout:  cfg.KeycloakTimeout,
	})
	if err != nil {
		return nil, err
	}
	limiter, closeLimiter, err := newLimiter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	recorder := audit.NewRecorder(store, log, time.Now)
	usage := exchange.NewUsage(store, log, cfg.UsageInterval)
	hooks, dispatcher, err := newWebhooks(cfg, store, recorder, log)
	if err != nil {
		closeLimiter()
		return nil, err
	}
	keyState, stopKeyState := watchKeyState(ctx, cfg, store, ring, m)
	limited := newLimitedKeys(cfg, kc)
	// Validate checked the parent group, its opt-in and the redirect hosts: New refuses
	// nothing else.
	prov, _ := provisioning.New(kc, store, provisioning.Config{
		Realm: cfg.Realm, ParentGroup: cfg.ACLParentGroup, AllowTopLevel: cfg.ACLAllowTopLevel,
		RedirectHosts: cfg.ClientRedirectHosts, Log: log, Audit: recorder, Metrics: m,
	})
	keySvc, exchanger := newKeyServices(cfg, store, keyState, hasher, exchange.NewJWTGrantMinter(signer, kc, cfg.IdPAlias),
		kc, recorder, usage, limiter, m, limitedParts{keys: limited, signer: signer}, consumerKeys{prov: prov, signer: signer})
	consoleHandler, err := newConsole(cfg, log, store, kc, verifier, keySvc, prov, hooks, limiter)
	var leakSvc *leaks.Service
	if err == nil {
		leakSvc, err = newLeaks(cfg, store, hasher, kc, recorder, limiter, log, prov)
	}
	if err != nil {
		stopKeyState()
		closeLimiter()
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	publicMetrics, ownMetrics := m.Handler(), http.Handler(nil)
	if cfg.MetricsListenAddr != "" {
		publicMetrics, ownMetrics = nil, metricsOnly(m.Handler())
	}
	h := newAPI(cfg, log, apiParts{kc: kc, verifier: verifier, signer: signer, store: store, keys: keySvc, exchanger: exchanger,
		prov: prov, hooks: hooks, console: consoleHandler, leaks: leakSvc, keyState: keyState, metrics: m, publicMetrics: publicMetrics})
	ok = true
	jobs := append(eventJobs(cfg, kc, store, keySvc, recorder, log, prov), retentionJob(cfg, store, recorder, m, log),
		limited.ensureAtStart(log))
	stopBackground, done := runBackground(ctx, prov, usage, closeLimiter, jobs...)
	cancel := func() { stopKeyState(); stopBackground() }
	return &App{handler: h, metrics: ownMetrics, store: store, usage: usage, cancel: cancel, done: done,
		stopWebhooks: startDispatcher(ctx, dispatcher)}, nil
}

func newKeycloak(cfg config.Config) *keycloak.Client {
	return keycloak.New(keycloak.Config{
		BaseURL:           cfg.KeycloakURL,
		Realm:             cfg.Realm,
		ClientID:          cfg.ClientID,
		ClientSecret:      cfg.ClientSecret,
		AdminClientID:     cfg.AdminClientID,
		AdminClientSecret: cfg.AdminSecret,
		Timeout:           cfg.KeycloakTimeout,
		Issuer:            cfg.KeycloakIssuer,
	})
}

// apiParts are the services the API serves.
type apiParts struct {
	kc            *keycloak.Client
	verifier      keycloak.TokenVerifier
	signer        *exchange.Signer
	store         *models.Store
	keys          *keys.Service
	exchanger     *exchange.Exchanger
	prov          *provisioning.Service
	hooks         *webhooks.Service
	console       http.Handler
	leaks         *leaks.Service
	keyState      *exchange.KeyState
	metrics       *metrics.Metrics
	publicMetrics http.Handler // nil: metrics have a listener of their own
}

func newAPI(cfg config.Config, log *zap.Logger, p apiParts) http.Handler {
	return handlers.New(handlers.Config{
		Log:       log,
		Verifier:  p.verifier,
		Keys:      p.keys,
		Exchanger: p.exchanger,
		Audience:  cfg.Audience,
		Discovery: handlers.Discovery{
			Issuer: p.kc.Issuer(), CLIClientID: cfg.CLIClientID, Audience: cfg.Audience,
			KeywardURL: cfg.PublicURL, TokenURL: cfg.PublicURL + "/v1/token", ConsoleURL: cfg.ConsoleURL + "/",
		},
		Principals:       p.kc,
		TrustedProxies:   cfg.TrustedProxies,
		Metrics:          p.publicMetrics,
		HTTPMetrics:      p.metrics,
		Audit:            audit.NewReader(p.store),
		JWKSFunc:         p.signer.PublicKeys,
		KeyTokenClients:  []string{cfg.ClientID, cfg.LimitedClientID},
		AdminRole:        cfg.AdminRole,
		Database:         p.store,
		Keycloak:         p.kc,
		Provisioning:     p.prov,
		Webhooks:         p.hooks,
		Console:          p.console,
		Leaks:            p.leaks,
		KeyNotifications: p.keyState,
	})
}

// openStore makes the data directory private (it holds secrets at rest) before
// anything is put there, then opens the configured store.
func openStore(ctx context.Context, cfg config.Config, log *zap.Logger) (*models.Store, error) {
	if cfg.DataDir != "" && cfg.UsesDataDir() {
		was, err := exchange.PrepareDataDir(cfg.DataDir, "keyward.db", "key-pepper", "encryption-key", filepath.Base(cfg.SigningKeyFile))
		if err != nil {
			return nil, err
		}
		if was != 0 {
			log.Warn("the data directory was open to group or others: tightened to 0700",
				zap.String("dir", cfg.DataDir), zap.String("was", fmt.Sprintf("%04o", was)))
		}
	}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(cfg.DataDir, "keyward.db")
	}
	store, err := models.Open(ctx, dsn, log, models.ListenURL(cfg.DatabaseListenURL))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store, nil
}

// loadSecrets reads (or makes) the pepper that keys the key hashes, and the signing
// key file to import into the store (nil when none is configured or present).
func loadSecrets(cfg config.Config) (*exchange.Hasher, *ecdsa.PrivateKey, error) {
	pepper := []byte(cfg.KeyPepper)
	if len(pepper) == 0 {
		var err error
		if pepper, err = exchange.LoadOrCreatePepper(filepath.Join(cfg.DataDir, "key-pepper")); err != nil {
			return nil, nil, err
		}
	}
	hasher, err := exchange.NewHasher(pepper)
	if err != nil {
		return nil, nil, err
	}
	priv, err := signingKeyToImport(cfg)
	if err != nil {
		return nil, nil, err
	}
	return hasher, priv, nil
}

// newKeyServices wires the key lifecycle and the exchange, which share the hasher, the
// minter, the limit policy, the denylist and the token cache.
func newKeyServices(cfg config.Config, store *models.Store, keyState exchange.KeyFinder, hasher *exchange.Hasher, minter exchange.TokenMinter,
	kc *keycloak.Client, recorder *audit.Recorder, usage *exchange.Usage, limiter exchange.Limiter, m *metrics.Metrics,
	limited limitedParts, ck consumerKeys,
) (*keys.Service, *exchange.Exchanger) {
	deny, _ := exchange.NewRoleDenylist(cfg.DenyRoles) // Validate checked every entry
	limits := exchange.LimitPolicy{
		Default:        ratelimit.Limit{Requests: cfg.RateRequests, Window: cfg.RateWindow},
		AllowUnlimited: cfg.AllowUnlimited,
	}
	var cache *exchange.TokenCache
	if cfg.TokenCache {
		cache = exchange.NewTokenCache(cfg.CacheMargin, 0)
	}
	keySvc := keys.New(keys.Config{
		Store: store, Hasher: hasher, Minter: minter, Users: kc, Roles: kc, Deny: deny, Audit: recorder,
		RoleLimits: limited.keys,
		Limits:     limits, Cache: cache, Usage: store, MaxKeysPerUser: cfg.MaxKeysPerUser,
		OwnerMaxRate: ratelimit.Limit{Requests: cfg.OwnerMaxRate, Window: cfg.RateWindow},
	})
	exchanger := exchange.NewExchanger(exchange.ExchangerConfig{
		Keys: keyState, Hasher: hasher, Minter: minter, Usage: usage,
		Limiter: limiter, Limits: limits, Cache: cache, Observe: m,
		Deny: deny, Principals: kc,
		Limited:    exchange.NewLimitedMinter(limited.signer, kc, cfg.LimitedClientID, deny),
		Failures:   exchange.NewFailureThrottle(cfg.FailureBudget, cfg.FailureWindow, time.Now),
		KeyClients: ck.prov, ConsumerMinter: exchange.NewConsumerMinter(ck.signer, kc, deny),
	})
	ck.wire(cfg, store, kc, keySvc)
	return keySvc, exchanger
}

// limitedParts are what keys limited to roles add to the key services.
type limitedParts struct {
	keys   *limitedKeys
	signer *exchange.Signer
}

// runBackground starts the repair loop and the usage flusher; cancel stops them, done
// closes once both have finished (the last usage flush included).
func runBackground(ctx context.Context, prov *provisioning.Service, usage *exchange.Usage, closeLimiter func(),
	jobs ...func(context.Context),
) (context.CancelFunc, chan struct{}) {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			prov.ReconcileLoop(bg, time.Minute)
		}()
		for _, job := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				job(bg)
			}()
		}
		usage.Run(bg)
		wg.Wait()
		closeLimiter()
	}()
	return cancel, done
}

// Serve runs Keyward with cfg until ctx ends (keyward server).
func Serve(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	log.Info("keyward listening",
		zap.String("addr", ln.Addr().String()),
		zap.String("public_url", cfg.PublicURL),
		zap.String("keycloak", cfg.KeycloakURL),
		zap.String("realm", cfg.Realm),
		zap.String("store", a.store.Backend()))
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var msrv *http.Server
	if a.metrics != nil {
		mln, err := net.Listen("tcp", cfg.MetricsListenAddr)
		if err != nil {
			_ = srv.Close()
			return err
		}
		msrv = &http.Server{Handler: a.metrics, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		log.Info("metrics listening", zap.String("addr", mln.Addr().String()))
		go func() { errc <- msrv.Serve(mln) }()
	}
	select {
	case err := <-errc:
		_ = srv.Close()
		if msrv != nil {
			_ = msrv.Close()
		}
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if msrv != nil {
		_ = msrv.Shutdown(shutdown)
	}
	return srv.Shutdown(shutdown)
}

// metricsOnly serves h at /metrics and nothing else: the operator's listener.
func metricsOnly(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return mux
}

// newLimiter builds the configured rate-limit backend; the returned func releases it.
func newLimiter(ctx context.Context, cfg config.Config) (exchange.Limiter, func(), error) {
	if cfg.RateBackend != "redis" {
		return ratelimit.NewMemory(time.Now), func() {}, nil
	}
	opts, _ := redis.ParseURL(cfg.RedisURL) // Validate parsed it
	// Bounded calls: a slow Redis must not hold an exchange (go-redis ignores context
	// deadlines unless told to honour them).
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 2*time.Second, time.Second, time.Second
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("redis for rate limits: %w", err)
	}
	return ratelimit.NewRedis(client, "keyward:rl:"), func() { _ = client.Close() }, nil
}

// OpenKeyRing opens the store and its signing keys as a replica would (fingerprints
// checked, a key file imported once); the func releases the store (keyward signing-keys).
func OpenKeyRing(ctx context.Context, cfg config.Config) (*exchange.KeyRing, func(), error) {
	log := zap.NewNop()
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	hasher, priv, err := loadSecrets(cfg)
	if err == nil {
		var ring *exchange.KeyRing
		if ring, err = sharedKeys(ctx, cfg, store, hasher, priv, log); err == nil {
			return ring, func() { _ = store.Close() }, nil
		}
	}
	_ = store.Close()
	return nil, nil, err
}
