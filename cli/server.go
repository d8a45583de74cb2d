package cli

// keyward server: the service itself, wired by main (Factory.Service).

import (
	"context"
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

// ServerOptions is what keyward server needs.
type ServerOptions struct {
	Ctx    context.Context
	Getenv func(string) string
	Serve  func(ctx context.Context, cfg config.Config, log *zap.Logger) error // Factory.Service
	Args   []string                                                            // the service's own flags
}

// NewCmdServer is keyward server; runF, when given, runs instead of the command.
func NewCmdServer(f *Factory, runF func(*ServerOptions) error) *cobra.Command {
	opts := &ServerOptions{Getenv: f.Getenv, Serve: f.Service.Serve}
	return &cobra.Command{
		Use:   "server [-flag value …]",
		Short: "Run the Keyward service",
		Long: "Run the Keyward service. Settings come from KEYWARD_* environment variables, each also a flag\n" +
			"(KEYWARD_LISTEN_ADDR → -listen-addr); `keyward server -h` lists them.",
		Example:            "  KEYWARD_CLIENT_SECRET=… KEYWARD_ADMIN_CLIENT_SECRET=… keyward server -listen-addr 127.0.0.1:8080",
		DisableFlagParsing: true, // the service's own flag set (config.Load) reads them
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx, opts.Args = cmd.Context(), args
			return pick(opts, runF, serverRun)()
		},
	}
}

func serverRun(opts *ServerOptions) error {
	cfg, err := config.LoadValid(opts.Args, opts.Getenv)
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
	ctx, stop := signal.NotifyContext(opts.Ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := opts.Serve(ctx, cfg, log); err != nil {
		log.Error("keyward stopped", zap.Error(err))
		return &exitErr{ExitError, errors.New("stopped: see the log")}
	}
	return nil
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
