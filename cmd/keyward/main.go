// Command keyward serves Keyward: personal API keys traded for Keycloak-issued tokens.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

func main() {
	cfg, err := loadConfig(os.Args[1:], envOrEmpty)
	if errors.Is(err, flagHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyward:", err)
		os.Exit(2)
	}
	log, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyward:", err)
		os.Exit(2)
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("keyward stopped", zap.Error(err))
		os.Exit(1)
	}
}

func newLogger(cfg Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if cfg.LogFormat == "console" {
		zc = zap.NewDevelopmentConfig()
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	return zc.Build()
}

// app is Keyward wired up: what main serves and what end-to-end tests drive.
type app struct {
	handler  http.Handler
	store    *models.Store
	lastUsed *exchange.LastUsed
	cancel   context.CancelFunc
	done     chan struct{}
}

// Close stops the background work (flushing last-use times once more) and the store.
func (a *app) Close() error {
	a.cancel()
	<-a.done
	return a.store.Close()
}

// newApp wires every dependency explicitly.
func newApp(ctx context.Context, cfg Config, log *zap.Logger) (*app, error) {
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(cfg.DataDir, "keyward.db")
	}
	store, err := models.Open(ctx, dsn, log)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = store.Close()
		}
	}()

	pepper := []byte(cfg.KeyPepper)
	if len(pepper) == 0 {
		if pepper, err = exchange.LoadOrCreatePepper(filepath.Join(cfg.DataDir, "key-pepper")); err != nil {
			return nil, err
		}
	}
	hasher, err := exchange.NewHasher(pepper)
	if err != nil {
		return nil, err
	}
	priv, err := exchange.LoadOrCreateSigningKey(cfg.SigningKeyFile)
	if err != nil {
		return nil, err
	}
	kc := keycloak.New(keycloak.Config{
		BaseURL:      cfg.KeycloakURL,
		Realm:        cfg.Realm,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Timeout:      cfg.KeycloakTimeout,
	})
	signer, err := exchange.NewSigner(priv, cfg.PublicURL, kc.Issuer(), time.Now)
	if err != nil {
		return nil, err
	}
	verifier, err := keycloak.NewVerifier(ctx, keycloak.VerifierConfig{
		Issuer:   kc.Issuer(),
		CertsURL: kc.CertsURL(),
		Audience: cfg.Audience,
		Timeout:  cfg.KeycloakTimeout,
	})
	if err != nil {
		return nil, err
	}
	minter := exchange.NewJWTGrantMinter(signer, kc, cfg.IdPAlias)
	recorder := audit.NewRecorder(store, log, time.Now)
	lastUsed := exchange.NewLastUsed(store, log, cfg.LastUsedInterval)
	prov, err := provisioning.New(kc, store, provisioning.Config{
		Realm: cfg.Realm, ParentGroup: cfg.ACLParentGroup, Log: log, Audit: recorder,
	})
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	h := handlers.New(handlers.Config{
		Log:              log,
		Verifier:         verifier,
		Keys:             exchange.NewKeys(store, hasher, minter, kc, recorder, time.Now),
		Exchanger:        exchange.NewExchanger(store, hasher, minter, lastUsed, time.Now),
		Audit:            store,
		JWKS:             signer.PublicKeys(),
		ExchangeClientID: cfg.ClientID,
		AdminRole:        cfg.AdminRole,
		Database:         store,
		Keycloak:         kc,
		Provisioning:     prov,
	})
	ok = true
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		lastUsed.Run(bg)
	}()
	go prov.ReconcileLoop(bg, time.Minute)
	return &app{handler: h, store: store, lastUsed: lastUsed, cancel: cancel, done: done}, nil
}

func serve(ctx context.Context, cfg Config, log *zap.Logger) error {
	a, err := newApp(ctx, cfg, log)
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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
