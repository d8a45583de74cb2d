package api

import "time"

// Bounds of consumers.
const (
	ConsumerNamePattern    = `^[a-z0-9._-]{1,64}$`
	ConsumerDescriptionMax = 500
	// ConsumerContactEmailMax bounds a consumer's contact address (RFC 5321's path).
	ConsumerContactEmailMax = 254
	// AdminQueryMax bounds the search text (q) of the consumer and client lists.
	AdminQueryMax = 100
)

// Consumer is an application or team that calls the APIs.
type Consumer struct {
	ID           string    `json:"id"`
	Name         string    `json:"name" doc:"1..64 of a-z, 0-9, '.', '_', '-', unique"`
	Description  string    `json:"description" doc:"up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"`
	Environment  string    `json:"environment"`
	ACLGroups    []string  `json:"acl_groups" doc:"names of ACL groups; every client's service account is in each"`
	ContactEmail string    `json:"contact_email" doc:"where reminders of the consumer's keys are mailed; empty: none (webhooks only)"`
	Enabled      bool      `json:"enabled" doc:"false: the consumer's keys are refused (401) and its OAuth clients and key client are disabled in Keycloak"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func (Consumer) Rules() Rules {
	return Rules{"id": {Format: "uuid"}, "name": {Pattern: ConsumerNamePattern}, "description": {MaxLen: ConsumerDescriptionMax},
		"environment": {Enum: Environments}, "acl_groups": aclGroupList, "contact_email": {MaxLen: ConsumerContactEmailMax}}
}

// ConsumerCreate is a new consumer.
type ConsumerCreate struct {
	Name         string   `json:"name" doc:"1..64 of a-z, 0-9, '.', '_', '-', unique"`
	Description  string   `json:"description,omitempty" doc:"up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"`
	Environment  string   `json:"environment,omitempty" doc:"default production"`
	ACLGroups    []string `json:"acl_groups,omitempty" doc:"existing ACL group names, each once"`
	ContactEmail string   `json:"contact_email,omitempty" doc:"an email address (name@domain) for reminders of the consumer's keys"`
}

func (ConsumerCreate) Rules() Rules {
	groups := aclGroupList
	groups.Unique = true
	return Rules{"name": {Required: true, Pattern: ConsumerNamePattern},
		"description": {MaxLen: ConsumerDescriptionMax, Safe: SafeMultiline},
		"environment": {Enum: append([]string{""}, Environments...)}, "acl_groups": groups,
		"contact_email": {MaxLen: ConsumerContactEmailMax, Safe: SafeLine}}
}

// ConsumerUpdate changes the fields that are not nil (at least one).
type ConsumerUpdate struct {
	Name         *string   `json:"name,omitempty" doc:"1..64 of a-z, 0-9, '.', '_', '-', unique"`
	Description  *string   `json:"description,omitempty" doc:"up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"`
	Environment  *string   `json:"environment,omitempty"`
	ACLGroups    *[]string `json:"acl_groups,omitempty" doc:"the new set; every client's service account follows at once"`
	ContactEmail *string   `json:"contact_email,omitempty" doc:"an email address (name@domain) for reminders of the consumer's keys; empty removes it"`
	Enabled      *bool     `json:"enabled,omitempty" doc:"false refuses the consumer's keys and OAuth clients at once; true lets them work again (each client as its own enabled says)"`
}

func (ConsumerUpdate) Rules() Rules {
	groups := aclGroupList
	groups.Unique = true
	return Rules{"name": {Pattern: ConsumerNamePattern}, "description": {MaxLen: ConsumerDescriptionMax, Safe: SafeMultiline},
		"environment": {Enum: Environments}, "acl_groups": groups,
		"contact_email": {MaxLen: ConsumerContactEmailMax, Safe: SafeLine}}
}
