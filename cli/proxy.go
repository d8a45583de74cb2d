package cli

// keyward proxy: the sidecar for teams without a gateway (gateway/proxy.go does the work).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/gateway"
)

// ProxyOptions is what keyward proxy needs.
type ProxyOptions struct {
	Stderr           io.Writer // the log
	Ctx              context.Context
	Getenv           func(string) string
	Listen, Upstream string
	Grace            time.Duration
}

// NewCmdProxy is keyward proxy; runF, when given, runs instead of the command.
func NewCmdProxy(f *Factory, runF func(*ProxyOptions) error) *cobra.Command {
	opts := &ProxyOptions{Stderr: f.Stderr, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream URL",
		Short: "Run a sidecar that trades API keys for Keycloak tokens in front of an API",
		Long: "Listen on ADDR and forward every request to the upstream URL with\n" +
			"Authorization: Bearer <Keycloak token>, after asking the Keyward at KEYWARD_URL\n" +
			"(/v1/forward-auth) about the key the request carries: X-API-Key, Authorization: ApiKey,\n" +
			"Authorization: Bearer kw_…, or Basic with the key as password or as user name. Every form\n" +
			"of the key is removed before forwarding; a key in the query string is never read.\n" +
			"A refused key gets Keyward's answer (401, 429, 503) and the upstream is not reached.\n" +
			"Keyward is asked on every request, so a revoked key stops at once.\n\n" +
			"X-Forwarded-For is the caller's address; for a key's IP allowlist to see it, list this\n" +
			"sidecar's address in Keyward's KEYWARD_TRUSTED_PROXIES.\n" +
			gateway.HealthPath + " is answered by the sidecar itself (200), for probes.\n" +
			"Plain http to Keyward or to the upstream on another machine needs KEYWARD_ALLOW_INSECURE_HTTP=true.",
		Example: "  export KEYWARD_URL=https://keyward.example.com\n" +
			"  keyward proxy --listen :8000 --upstream http://127.0.0.1:9000\n" +
			"  curl -u \"$KEYWARD_API_KEY:\" http://127.0.0.1:8000/reports   # the API sees a Keycloak token",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			return pick(opts, runF, proxyRun)()
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "address to listen on, host:port")
	cmd.Flags().StringVar(&opts.Upstream, "upstream", "", "the API's base URL, e.g. http://127.0.0.1:9000")
	cmd.Flags().DurationVar(&opts.Grace, "shutdown-grace", 30*time.Second, "on SIGINT/SIGTERM, how long requests under way may finish")
	return cmd
}

// check names every problem of the command line at once.
func (opts *ProxyOptions) check(keywardURL string, insecure bool) error {
	var problems []error
	if opts.Listen == "" {
		problems = append(problems, errors.New("--listen is required (e.g. --listen 127.0.0.1:8000)"))
	}
	if opts.Upstream == "" {
		problems = append(problems, errors.New("--upstream is required (e.g. --upstream http://127.0.0.1:9000)"))
	} else if err := client.CheckURL("--upstream", opts.Upstream, "access tokens", insecure); err != nil {
		problems = append(problems, err)
	}
	if err := client.CheckURL("KEYWARD_URL", keywardURL, "API keys", insecure); err != nil {
		problems = append(problems, err)
	}
	if opts.Grace <= 0 {
		problems = append(problems, errors.New("--shutdown-grace must be positive"))
	}
	if len(problems) > 0 {
		return &exitErr{ExitUsage, errors.Join(problems...)}
	}
	return nil
}

func proxyRun(opts *ProxyOptions) error {
	keywardURL, insecure, err := keywardURLOf(opts.Getenv)
	if err != nil {
		return err
	}
	if err := opts.check(keywardURL, insecure); err != nil {
		return err
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.Lock(zapcore.AddSync(opts.Stderr)), zapcore.InfoLevel))
	defer func() { _ = log.Sync() }()
	h, err := gateway.NewProxy(gateway.ProxyConfig{KeywardURL: keywardURL, Upstream: opts.Upstream, Log: log})
	if err != nil {
		return &exitErr{ExitUsage, err}
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return &exitErr{ExitError, fmt.Errorf("--listen: %w", err)}
	}
	ctx, stop := signal.NotifyContext(opts.Ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("keyward proxy listening", zap.String("addr", ln.Addr().String()),
		zap.String("upstream", opts.Upstream), zap.String("keyward", keywardURL))
	return serveProxy(ctx, ln, h, opts.Grace, log)
}

// serveProxy serves h until ctx ends, then lets requests under way finish for grace.
// Bodies may stream for long: no read or write timeout, only one for the headers.
func serveProxy(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, log *zap.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return &exitErr{ExitError, err}
	case <-ctx.Done():
	}
	log.Info("keyward proxy stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		_ = srv.Close()
		return &exitErr{ExitError, fmt.Errorf("stopped with requests under way: %w", err)}
	}
	return nil
}
