package models

import "encoding/json"

// KeyRole is one role a key is limited to: Keycloak's id of the role, which the
// exchange asks for (the role scope kwr.<id>), and its name as the owner knows it
// (Client "" for a realm role), for display.
type KeyRole struct {
	ID     string `json:"id"`
	Client string `json:"client,omitempty"`
	Name   string `json:"name"`
}

// KeyRoles decodes the Roles column: nil when the key is not limited. A column that
// does not decode is a limit nobody can read: it comes back as one role with no id,
// which no token can satisfy (fail closed), never as "not limited".
func (k Key) KeyRoles() []KeyRole {
	if k.Roles == "" {
		return nil
	}
	var roles []KeyRole
	if err := json.Unmarshal([]byte(k.Roles), &roles); err != nil || len(roles) == 0 {
		return []KeyRole{{Name: "(unreadable)"}}
	}
	return roles
}

// RoleIDs are the ids of the roles the key is limited to; nil when it is not limited.
func (k Key) RoleIDs() []string {
	roles := k.KeyRoles()
	if roles == nil {
		return nil
	}
	ids := make([]string, len(roles))
	for i, r := range roles {
		ids[i] = r.ID
	}
	return ids
}

// JoinKeyRoles encodes a limit as the Roles column; "" (not limited) for none.
func JoinKeyRoles(roles []KeyRole) string {
	if len(roles) == 0 {
		return ""
	}
	b, _ := json.Marshal(roles) // strings only: cannot fail
	return string(b)
}
