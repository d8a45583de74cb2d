package keycloak

import (
	"context"
	"errors"
	"strings"

	"github.com/Nerzal/gocloak/v13"
	"github.com/google/uuid"
)

// User is a realm user as Keyward needs it.
type User struct {
	ID       string
	Username string
	Enabled  bool
	Email    string // "" when the user has none
	// ServiceAccount: the user is a client's service account, not a person.
	ServiceAccount bool
}

// FindUser looks a user up by id, or else by exact username. ErrNotFound when neither
// matches.
func (c *Client) FindUser(ctx context.Context, idOrUsername string) (User, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return User{}, err
	}
	if _, perr := uuid.Parse(idOrUsername); perr == nil {
		u, err := c.admin.GetUserByID(ctx, token, c.cfg.Realm, strings.ToLower(idOrUsername))
		if err == nil && u != nil {
			return c.withKind(ctx, toUser(u))
		}
		if err != nil {
			if cerr := classify("get user", err); !isNotFound(cerr) {
				return User{}, cerr
			}
		}
	}
	users, err := c.admin.GetUsers(ctx, token, c.cfg.Realm, gocloak.GetUsersParams{
		Username: gocloak.StringP(idOrUsername), Exact: gocloak.BoolP(true),
	})
	if err != nil {
		return User{}, classify("find user", err)
	}
	for _, u := range users {
		if strings.EqualFold(gocloak.PString(u.Username), idOrUsername) {
			return c.withKind(ctx, toUser(u))
		}
	}
	return User{}, ErrNotFound
}

func toUser(u *gocloak.User) User {
	return User{ID: gocloak.PString(u.ID), Username: gocloak.PString(u.Username), Enabled: gocloak.PBool(u.Enabled),
		Email: gocloak.PString(u.Email)}
}

func (c *Client) withKind(ctx context.Context, u User) (User, error) {
	sa, err := c.IsServiceAccount(ctx, u.ID, u.Username)
	if err != nil {
		return User{}, err
	}
	u.ServiceAccount = sa
	return u, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
