package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"
)

// LogoutOptions is what keyward logout needs.
type LogoutOptions struct {
	Base
	HTTPClient *http.Client // revokes at Keycloak
}

// NewCmdLogout is keyward logout; runF, when given, runs instead of the command.
func NewCmdLogout(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{Base: f.base(), HTTPClient: f.HTTPClient}
	cmd := &cobra.Command{
		Use:     "logout",
		Short:   "Revoke the stored login at Keycloak and remove it",
		Long:    "Revoke the login's refresh token at Keycloak (RFC 7009) and remove the login file of KEYWARD_URL.\nThe file stays when Keycloak cannot be reached, so that logout can be tried again.",
		Example: "  keyward logout",
		Args:    cobra.NoArgs,
	}
	cmd.RunE = opts.runE(nil, pick(opts, runF, logoutRun))
	return cmd
}

func logoutRun(opts *LogoutOptions) error {
	li, err := opts.Login(opts.Ctx)
	if err != nil {
		return err
	}
	s := li.tokens.sess
	if s.RevocationEndpoint == "" {
		return &exitErr{ExitError, errors.New("the realm offers no revocation endpoint: the login cannot be revoked")}
	}
	if err := revoke(opts.Ctx, opts.HTTPClient, s); err != nil {
		return err
	}
	if err := os.Remove(li.path); err != nil {
		return &exitErr{ExitError, fmt.Errorf("the login is revoked but its file stays: %w", err)}
	}
	fmt.Fprintf(opts.Stderr, "Logged out of %s: the login is revoked at Keycloak and its file removed.\n", li.keywardURL)
	return nil
}
