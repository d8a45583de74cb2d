// Package gateway is the door's code outside gin: reading a Keyward key from the
// headers of a request a gateway (or the `keyward proxy` sidecar) received, and
// stripping every form of it before anything goes upstream. It must not verify or
// trade keys (package exchange does), speak HTTP routes (package handlers does), read
// a key from anywhere but headers, or let a key reach an upstream.
package gateway

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// apiKeyHeader is X-API-Key in net/http's canonical form, looked up directly: Get
// would canonicalize (and allocate) on every request.
const apiKeyHeader = "X-Api-Key"

// keyPrefix is how every Keyward key starts: what tells a key sent as a Bearer
// credential from a token (a JWT never starts so).
const keyPrefix = "kw_"

// KeyFrom reads the key a client presented, from the headers only, in this order:
// X-API-Key; Authorization: ApiKey <key>; Authorization: Bearer <key> when the value
// is shaped like a Keyward key (a JWT is not a key); Authorization: Basic with the key
// as the password (any user name) or as the user name with an empty password. The
// query string is never read: URLs end up in access logs, browser history and Referer
// headers. ok is false when no header carries a key; the key is not checked here.
func KeyFrom(h http.Header) (key string, ok bool) {
	if vs := h[apiKeyHeader]; len(vs) > 0 {
		if k := strings.TrimSpace(vs[0]); k != "" {
			return k, true
		}
	}
	var auth string
	if vs := h["Authorization"]; len(vs) > 0 {
		auth = vs[0]
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(auth), " ")
	cred = strings.TrimSpace(cred)
	if cred == "" {
		return "", false
	}
	switch {
	case strings.EqualFold(scheme, "ApiKey"):
		return cred, true
	case strings.EqualFold(scheme, "Bearer"):
		if strings.HasPrefix(cred, keyPrefix) {
			return cred, true
		}
	case strings.EqualFold(scheme, "Basic"):
		return basicKey(cred)
	}
	return "", false
}

// basicKey is the key of Basic credentials (RFC 7617): the password, or the user name
// when the password is empty (curl -u KEY:, tools that only have a user name field).
func basicKey(cred string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", false
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	if pass != "" {
		return pass, true
	}
	if user != "" {
		return user, true
	}
	return "", false
}

// StripKey removes every header that can carry a key: X-API-Key and Authorization,
// whatever its scheme (the upstream gets the Keycloak token the gateway sets instead).
// Names are matched without regard to case, so a header map built by hand is cleaned
// as well as one net/http parsed.
func StripKey(h http.Header) {
	for name := range h {
		if strings.EqualFold(name, "X-API-Key") || strings.EqualFold(name, "Authorization") {
			delete(h, name)
		}
	}
}
