package cli

// keyward server: the service itself, wired by main (Factory.Service).

import (
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/keyward/keyward/config"
)

func newServerCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "server [-flag value …]",
		Short: "Run the Keyward service",
		Long: "Run the Keyward service. Settings come from KEYWARD_* environment variables, each also a flag\n" +
			"(KEYWARD_LISTEN_ADDR → -listen-addr); `keyward server -h` lists them.",
		Example:            "  KEYWARD_CLIENT_SECRET=… KEYWARD_ADMIN_CLIENT_SECRET=… keyward server -listen-addr 127.0.0.1:8080",
		DisableFlagParsing: true, // the service's own flag set (config.Load) reads them
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadValid(args, f.Getenv)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			if err != nil {
				return &exitErr{ExitUsage, err}
			}
			log, err := newLogger(cfg)
			if err != nil {
				return &exitErr{ExitUsage, err}
			}
			defer func() { _ = log.Sync() }()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := f.Service.Serve(ctx, cfg, log); err != nil {
				log.Error("keyward stopped", zap.Error(err))
				return &exitErr{ExitError, errors.New("stopped: see the log")}
			}
			return nil
		},
	}
}

func newLogger(cfg config.Config) (*zap.Logger, error) {
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
