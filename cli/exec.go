package cli

// keyward exec: a command run with KEYWARD_ACCESS_TOKEN from the API key, the key kept out.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
)

func newExecCommand(f *Factory) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:     "exec -- command [args…]",
		Short:   "Run a command with KEYWARD_ACCESS_TOKEN set from the API key",
		Example: "  KEYWARD_API_KEY=$KEY keyward exec -- python report.py",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := accessToken(cmd.Context(), f.Getenv, keyFile)
			if err != nil {
				return err
			}
			child := exec.CommandContext(cmd.Context(), args[0], args[1:]...)
			child.Stdin, child.Stdout, child.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			// The key itself stays out of the child's environment.
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "KEYWARD_API_KEY=") {
					child.Env = append(child.Env, kv)
				}
			}
			child.Env = append(child.Env, "KEYWARD_ACCESS_TOKEN="+tok.AccessToken)
			err = child.Run()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return &exitErr{exit.ExitCode(), fmt.Errorf("%s exited with status %d", args[0], exit.ExitCode())}
			}
			if err != nil {
				return &exitErr{ExitError, err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "read the API key from this file instead of KEYWARD_API_KEY")
	return cmd
}
