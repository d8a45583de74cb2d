package cli

// keyward exec: a command run with KEYWARD_ACCESS_TOKEN from the API key, the key kept out.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
)

// ExecOptions is what keyward exec needs.
type ExecOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Ctx            context.Context
	Getenv         func(string) string
	Environ        func() []string // the environment the child inherits, less the key
	KeyFile        string
	Command        []string
}

// NewCmdExec is keyward exec; runF, when given, runs instead of the command.
func NewCmdExec(f *Factory, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{Stdin: os.Stdin, Stdout: f.Stdout, Stderr: f.Stderr, Getenv: f.Getenv, Environ: os.Environ}
	cmd := &cobra.Command{
		Use:     "exec -- command [args…]",
		Short:   "Run a command with KEYWARD_ACCESS_TOKEN set from the API key",
		Example: "  KEYWARD_API_KEY=$KEY keyward exec -- python report.py",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx, opts.Command = cmd.Context(), args
			return pick(opts, runF, execRun)()
		},
	}
	cmd.Flags().StringVar(&opts.KeyFile, "key-file", "", "read the API key from this file instead of KEYWARD_API_KEY")
	return cmd
}

func execRun(opts *ExecOptions) error {
	tok, err := accessToken(opts.Ctx, opts.Getenv, opts.KeyFile)
	if err != nil {
		return err
	}
	name := opts.Command[0]
	child := exec.CommandContext(opts.Ctx, name, opts.Command[1:]...)
	child.Stdin, child.Stdout, child.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	// The key itself stays out of the child's environment.
	for _, kv := range opts.Environ() {
		if !strings.HasPrefix(kv, "KEYWARD_API_KEY=") {
			child.Env = append(child.Env, kv)
		}
	}
	child.Env = append(child.Env, "KEYWARD_ACCESS_TOKEN="+tok.AccessToken)
	err = child.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return &exitErr{exit.ExitCode(), fmt.Errorf("%s exited with status %d", name, exit.ExitCode())}
	}
	if err != nil {
		return &exitErr{ExitError, err}
	}
	return nil
}
