package keys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/cidrlist"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
)

// RateLimit is a key's own limit as callers give it.
type RateLimit = api.RateLimit

// DefaultMaxKeysPerUser is the live-key ceiling when none is configured.
const DefaultMaxKeysPerUser = 50

// validRateLimit returns the stored pair (requests, window seconds). Owners stay
// under the configured ceiling; admins (byAdmin) may pass it.
func (k *Service) validRateLimit(verr *errs.Validation, r *RateLimit, byAdmin bool) (int, int) {
	ceiling := k.maxRate.Requests > 0 && !byAdmin
	switch {
	case r == nil:
		return limitColumns(nil)
	case ceiling && r.Unlimited:
		verr.Add("rate_limit", fmt.Sprintf("unlimited is above the most an owner may set (%d requests per %d seconds); ask an admin",
			k.maxRate.Requests, int(k.maxRate.Window/time.Second)))
	case r.Unlimited && (r.Requests != 0 || r.WindowSeconds != 0):
		verr.Add("rate_limit", "give either unlimited or requests and window_seconds")
	case r.Unlimited && !k.limits.AllowUnlimited:
		verr.Add("rate_limit", "unlimited keys are not allowed by this server's configuration")
	case r.Unlimited:
		return limitColumns(r)
	case r.Requests < 1 || r.Requests > api.RateRequestsMax:
		verr.Add("rate_limit.requests", fmt.Sprintf("must be between 1 and %d", api.RateRequestsMax))
	case r.WindowSeconds < 1 || r.WindowSeconds > api.RateWindowSecondsMax:
		verr.Add("rate_limit.window_seconds", fmt.Sprintf("must be between 1 and %d", api.RateWindowSecondsMax))
	case ceiling && !rateAtMost(r.Requests, r.WindowSeconds, k.maxRate.Requests, int(k.maxRate.Window/time.Second)):
		verr.Add("rate_limit", fmt.Sprintf("must be at most %d requests per %d seconds (the most an owner may set; ask an admin for more)",
			k.maxRate.Requests, int(k.maxRate.Window/time.Second)))
	default:
		return limitColumns(r)
	}
	return 0, 0
}

// rateAtMost: req per window is no faster than maxReq per maxWindow, and no larger a
// burst (a longer window with proportionally more requests would allow one).
func rateAtMost(req, window, maxReq, maxWindow int) bool {
	return req <= maxReq && int64(req)*int64(maxWindow) <= int64(maxReq)*int64(window)
}

// validAllowlist checks an IP allowlist and returns the list to store.
func validAllowlist(verr *errs.Validation, list []string) string {
	out, problem := cidrlist.Normalize(list, api.IPAllowlistMax)
	if problem != "" {
		verr.Add("ip_allowlist", problem)
	}
	return out
}

func validFutureTime(verr *errs.Validation, field, s string, now time.Time) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	switch {
	case err != nil:
		verr.Add(field, "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z")
		return nil
	case !t.After(now):
		verr.Add(field, "must be in the future")
		return nil
	case t.Sub(now) > MaxExpiry:
		verr.Add(field, "must be at most 10 years ahead")
		return nil
	}
	t = t.UTC()
	return &t
}

// validScopes checks names of Keycloak client scopes; Keycloak itself refuses a scope
// the client may not request (invalid_scope at exchange).
func validScopes(verr *errs.Validation, scopes []string) string {
	if len(scopes) > api.ScopesMax {
		verr.Add("scopes", fmt.Sprintf("at most %d scopes", api.ScopesMax))
		return ""
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !exchange.ScopeNameOK(s) {
			verr.Add("scopes", "each scope is 1..64 characters of letters, digits and _ . : / -")
			return ""
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return models.JoinWords(out)
}

// validMetadata accepts a JSON object of at most 50 keys and 4 KiB; it returns the
// compact form to store.
func validMetadata(verr *errs.Validation, raw json.RawMessage) string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return "{}"
	}
	var m map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &m) != nil {
		verr.Add("metadata", "must be a JSON object")
		return ""
	}
	if len(m) > api.KeyMetadataKeysMax {
		verr.Add("metadata", fmt.Sprintf("at most %d keys", api.KeyMetadataKeysMax))
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		verr.Add("metadata", "must be a JSON object")
		return ""
	}
	if buf.Len() > api.KeyMetadataBytesMax {
		verr.Add("metadata", "must be at most 4 KiB")
		return ""
	}
	if strings.Contains(buf.String(), `\u0000`) {
		verr.Add("metadata", "must not contain NUL characters")
		return ""
	}
	return buf.String()
}
