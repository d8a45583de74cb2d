package webhooks

import (
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func TestHealthPolicy_DisablesOnlyWhenTheRunIsTooLongOrGivenUp(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p := healthPolicy{maxFailures: 3, maxAge: 24 * time.Hour}
	failing := func(n int, since time.Time) models.EndpointHealth {
		return models.EndpointHealth{Enabled: true, ConsecutiveFailures: n, FailingSince: &since}
	}
	for _, tc := range []struct {
		name               string
		h                  models.EndpointHealth
		at                 time.Time
		succeeded, givenUp bool
		wantDisabled       bool
		wantFailures       int
		wantSince          *time.Time
	}{
		{"a first failure starts the run", models.EndpointHealth{Enabled: true}, t0, false, false, false, 1, &t0},
		{"a failure lengthens the run from its start", failing(1, t0), t0.Add(time.Hour), false, false, false, 2, &t0},
		{"the run reaches maxFailures", failing(2, t0), t0.Add(time.Hour), false, false, true, 3, &t0},
		{"the run lasts maxAge", failing(1, t0), t0.Add(24 * time.Hour), false, false, true, 2, &t0},
		{"a message given up", models.EndpointHealth{Enabled: true}, t0, false, true, true, 1, &t0},
		{"a success clears the run", failing(2, t0), t0.Add(time.Hour), true, false, false, 0, nil},
		{"an endpoint off already is not disabled again", models.EndpointHealth{Enabled: false}, t0, false, true, false, 1, &t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			got := p.after(&h, tc.at, tc.succeeded, tc.givenUp)
			if got != tc.wantDisabled || h.ConsecutiveFailures != tc.wantFailures ||
				(h.FailingSince == nil) != (tc.wantSince == nil) || (h.FailingSince != nil && !h.FailingSince.Equal(*tc.wantSince)) {
				t.Fatalf("disabled %v, health %+v", got, h)
			}
			if tc.wantDisabled && (h.Enabled || h.DisabledReason != DisabledFailing) {
				t.Fatalf("disabled without saying why: %+v", h)
			}
			if !tc.wantDisabled && h.Enabled != tc.h.Enabled {
				t.Fatalf("enabled changed: %+v", h)
			}
		})
	}
	if unbounded := (healthPolicy{}); unbounded.after(&models.EndpointHealth{Enabled: true, ConsecutiveFailures: 1000}, t0, false, false) {
		t.Fatal("a policy without bounds disabled an endpoint whose messages are still retried")
	}
}
