package api

// ACLGroupNamePattern is the one rule for ACL group names (and the ACL parent group).
// A name goes into Keycloak group paths and tokens: it must not be "." or "..", hence
// a letter or digit first.
const ACLGroupNamePattern = `^[a-z0-9][a-z0-9._-]{0,63}$`

// ACLGroupRule says ACLGroupNamePattern in words.
const ACLGroupRule = "1..64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"

// ACLGroupsMax bounds the ACL groups of a consumer (and so of its clients).
const ACLGroupsMax = 50

// KeycloakDescriptionMax bounds what Keycloak stores (a client's description, an ACL
// group's attribute): its columns hold 255 characters, and it answers 500 past them.
const KeycloakDescriptionMax = 255

// aclGroupList is a list of ACL group names.
var aclGroupList = Rule{MaxItems: ACLGroupsMax, Items: &Rule{Pattern: ACLGroupNamePattern, Doc: ACLGroupRule}}

// ACLGroup is a Keycloak group under the ACL parent: tokens carry its name in acl_groups.
type ACLGroup struct {
	Name        string `json:"name" doc:"the group's name, as tokens carry it in acl_groups"`
	Description string `json:"description" doc:"up to 255 characters (Keycloak stores it); no control, bidirectional or invisible characters but tab and line breaks"`
	Path        string `json:"path" doc:"the Keycloak group path, e.g. /keyward-acl/analytics"`
	KeycloakID  string `json:"keycloak_id" doc:"Keycloak's group id"`
}

func (ACLGroup) Rules() Rules {
	return Rules{"name": {Pattern: ACLGroupNamePattern}, "description": {MaxLen: KeycloakDescriptionMax}}
}

// ACLGroupCreate is a new ACL group.
type ACLGroupCreate struct {
	Name        string `json:"name" doc:"1..64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"`
	Description string `json:"description" doc:"up to 255 characters (Keycloak stores it); no control, bidirectional or invisible characters but tab and line breaks"`
}

func (ACLGroupCreate) Rules() Rules {
	return Rules{"name": {Required: true, Pattern: ACLGroupNamePattern},
		"description": {MaxLen: KeycloakDescriptionMax, Safe: SafeMultiline}}
}
