package audit

// Action is one kind of audit event: its name (the event's action), the type of
// object it is about, and what it means.
type Action struct {
	Name, Object, Means string
}

// actions is every action the services record, by object. The services pass these
// names as literals; actions_test.go checks the two agree both ways.
var actions = []Action{
	{"key.create", "key", "a key was created (by its owner, or by an admin for a user or a consumer)"},
	{"key.update", "key", "a key's settings changed; details list the fields"},
	{"key.enable", "key", "a key was enabled again"},
	{"key.disable", "key", "a key was disabled: by a person, after a password reset or sign-out everywhere (KEYWARD_ON_CREDENTIAL_RESET=disable), or after a leak report (KEYWARD_LEAK_ACTION=disable)"},
	{"key.rotate", "key", "a key was replaced by a new one with the same settings; the old one works until its grace period ends"},
	{"key.delete", "key", "a key was revoked: by a person, because its owner was deleted in Keycloak, or after a leak report (KEYWARD_LEAK_ACTION=revoke)"},
	{"key.owner_disabled", "key", "the key's owner was disabled in Keycloak: the key is refused until the owner is enabled again"},
	{"key.owner_enabled", "key", "the key's owner was enabled again in Keycloak"},
	{"key.expiring", "key", "an expiry reminder was sent: 30, 7 or 1 days before the key expires (details: threshold, days_left)"},
	{"key.expired", "key", "the key reached its expiry time"},
	{"key.leaked", "key", "a secret scanner reported the key as published; key.delete or key.disable follows"},
	{"consumer.create", "consumer", "a consumer was created"},
	{"consumer.update", "consumer", "a consumer changed; details say what"},
	{"consumer.delete", "consumer", "a consumer was deleted (with its clients when cascading)"},
	{"consumer.reconcile", "consumer", "the repair pass fixed a consumer's group memberships in Keycloak"},
	{"client.create", "client", "an OAuth client of a consumer was created in Keycloak"},
	{"client.update", "client", "a client changed; details list the fields"},
	{"client.delete", "client", "a client was deleted, in Keycloak too"},
	{"client.test", "client", "an admin tested a client's credentials against Keycloak"},
	{"client.secret.view", "client", "an admin was shown a client's secret (refused when the event cannot be written)"},
	{"client.secret.regenerate", "client", "an admin asked for a client's new secret; recorded before Keycloak is asked (refused when the event cannot be written)"},
	{"client.secret.regenerate_failed", "client", "Keycloak did not replace the secret after client.secret.regenerate: the old secret may still hold"},
	{"client.reconcile", "client", "the repair pass repaired a client that could carry users' roles or skip consent, or removed an orphan client from Keycloak"},
	{"acl_group.create", "acl_group", "an ACL group was created under the ACL parent group"},
	{"acl_group.delete", "acl_group", "an ACL group was deleted"},
	{"webhook.create", "webhook", "a webhook endpoint was created"},
	{"webhook.update", "webhook", "a webhook endpoint changed; details list the fields"},
	{"webhook.delete", "webhook", "a webhook endpoint was deleted"},
	{"webhook.secret.rotate", "webhook", "a webhook endpoint's signing secret was replaced"},
	{"webhook.redeliver", "webhook", "an admin had a delivery sent again"},
	{"retention.prune", "retention", "the retention job deleted audit events and usage counts older than their retention (KEYWARD_AUDIT_RETENTION, KEYWARD_USAGE_RETENTION)"},
}

// Actions lists every action the services record, grouped by object.
func Actions() []Action {
	return append([]Action(nil), actions...)
}
