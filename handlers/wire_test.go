package handlers

import (
	"slices"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/exchange"
)

// A key's usage counts the exchange's refusals under the names the contract lists.
func TestWire_DenialReasonsAreTheExchangesRefusals(t *testing.T) {
	var refusals []string
	for _, o := range []exchange.Outcome{exchange.OutcomeMalformed, exchange.OutcomeUnknownKey, exchange.OutcomeExpired,
		exchange.OutcomeInactive, exchange.OutcomeIPDenied, exchange.OutcomeRateLimited, exchange.OutcomeUserRefused,
		exchange.OutcomeDeniedRole, exchange.OutcomeNotPerson, exchange.OutcomeThrottled, exchange.OutcomeInvalidScope,
		exchange.OutcomeUnavailable, exchange.OutcomeError, exchange.OutcomeOutsideLimit} {
		refusals = append(refusals, string(o))
	}
	if !slices.Equal(refusals, api.DenialReasons) {
		t.Fatalf("api.DenialReasons = %v, the exchange refuses with %v", api.DenialReasons, refusals)
	}
}
