package webhooks

import (
	"time"

	"github.com/keyward/keyward/models"
)

// healthPolicy is when repeated failure turns an endpoint off: when a message to it is
// given up, when its run of failed attempts reaches maxFailures, or when the run has
// lasted maxAge (0: never on that ground). An admin turns it on again.
type healthPolicy struct {
	maxFailures int
	maxAge      time.Duration
}

// after is the endpoint's health h after an attempt at `at`; it says whether the
// attempt disabled the endpoint. A success clears the run of failures.
func (p healthPolicy) after(h *models.EndpointHealth, at time.Time, succeeded, givenUp bool) (disabled bool) {
	if succeeded {
		h.ConsecutiveFailures, h.FailingSince = 0, nil
		return false
	}
	since := at
	if h.FailingSince != nil {
		since = *h.FailingSince
	}
	h.ConsecutiveFailures++
	h.FailingSince = &since
	if h.Enabled && (givenUp || (p.maxFailures > 0 && h.ConsecutiveFailures >= p.maxFailures) ||
		(p.maxAge > 0 && at.Sub(since) >= p.maxAge)) {
		h.Enabled, h.DisabledReason = false, DisabledFailing
		return true
	}
	return false
}
