// Package fakekc fakes, for unit tests, the parts of Keycloak the services read through
// small interfaces: users, their effective roles, which subjects are service accounts.
// Integration tests use the real Keycloak (internal/kctest).
package fakekc

import (
	"context"

	"github.com/keyward/keyward/keycloak"
)

// Users finds users by id or username.
type Users map[string]keycloak.User

// FindUser is keycloak.Client.FindUser on the map.
func (u Users) FindUser(_ context.Context, idOrName string) (keycloak.User, error) {
	for _, user := range u {
		if user.ID == idOrName || user.Username == idOrName {
			return user, nil
		}
	}
	return keycloak.User{}, keycloak.ErrNotFound
}

// Roles are users' effective roles, by user id.
type Roles map[string]keycloak.Roles

// EffectiveRoles is keycloak.Client.EffectiveRoles on the map.
func (r Roles) EffectiveRoles(_ context.Context, id string, _ []string) (keycloak.Roles, error) {
	return r[id], nil
}

// Principals names the service-account subjects.
type Principals map[string]bool

// IsServiceAccount is keycloak.Client.IsServiceAccount on the map.
func (p Principals) IsServiceAccount(_ context.Context, id, _ string) (bool, error) {
	return p[id], nil
}
