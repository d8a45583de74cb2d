package cli

// keyward proxy: the sidecar for teams without a gateway (gateway/proxy.go does the work).

import (
	"context"
	"errors"
	"fmt"
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

func newProxyCommand(f *Factory) *cobra.Command {
	var listen, upstream string
	var grace time.Duration
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
			keywardURL, insecure, err := f.keywardURL()
			if err != nil {
				return err
			}
			var problems []error
			if listen == "" {
				problems = append(problems, errors.New("--listen is required (e.g. --listen 127.0.0.1:8000)"))
			}
			if upstream == "" {
				problems = append(problems, errors.New("--upstream is required (e.g. --upstream http://127.0.0.1:9000)"))
			} else if err := client.CheckURL("--upstream", upstream, "access tokens", insecure); err != nil {
				problems = append(problems, err)
			}
			if err := client.CheckURL("KEYWARD_URL", keywardURL, "API keys", insecure); err != nil {
				problems = append(problems, err)
			}
			if grace <= 0 {
				problems = append(problems, errors.New("--shutdown-grace must be positive"))
			}
			if len(problems) > 0 {
				return &exitErr{ExitUsage, errors.Join(problems...)}
			}
			log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
				zapcore.Lock(zapcore.AddSync(cmd.ErrOrStderr())), zapcore.InfoLevel))
			defer func() { _ = log.Sync() }()
			h, err := gateway.NewProxy(gateway.ProxyConfig{KeywardURL: keywardURL, Upstream: upstream, Log: log})
			if err != nil {
				return &exitErr{ExitUsage, err}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return &exitErr{ExitError, fmt.Errorf("--listen: %w", err)}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log.Info("keyward proxy listening", zap.String("addr", ln.Addr().String()),
				zap.String("upstream", upstream), zap.String("keyward", keywardURL))
			return serveProxy(ctx, ln, h, grace, log)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, host:port")
	cmd.Flags().StringVar(&upstream, "upstream", "", "the API's base URL, e.g. http://127.0.0.1:9000")
	cmd.Flags().DurationVar(&grace, "shutdown-grace", 30*time.Second, "on SIGINT/SIGTERM, how long requests under way may finish")
	return cmd
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
