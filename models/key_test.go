package models_test

import (
	"slices"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestKeyColumns_Lists_BothWays(t *testing.T) {
	for _, l := range [][]string{{}, {"profile"}, {"profile", "email"}} {
		if got := models.Words(models.JoinWords(l)); !slices.Equal(got, l) {
			t.Errorf("%q stored and read back as %q", l, got)
		}
	}
	if got := models.Words("  a   b "); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("extra spaces read as %q", got)
	}
}

func TestKeyColumns_RateLimit_BothWays(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		requests, window         int
		unlimited, set           bool
		wantRequests, wantWindow int
	}{
		{"the configured default is 0/0", 0, 0, false, false, 0, 0},
		{"an own limit", 100, 60, false, true, 100, 60},
		{"unlimited is below 0", 0, 0, true, true, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, win := models.LimitColumns(tc.requests, tc.window, tc.unlimited, tc.set)
			if req != tc.wantRequests || win != tc.wantWindow {
				t.Fatalf("stored as %d/%d", req, win)
			}
			r, w, u, s := models.Key{RateLimitRequests: req, RateLimitWindowSeconds: win}.OwnLimit()
			if r != tc.requests || w != tc.window || u != tc.unlimited || s != tc.set {
				t.Fatalf("read back as %d/%d unlimited %v set %v", r, w, u, s)
			}
		})
	}
	// Half a pair (rows older than the validation) is no limit of its own.
	if _, _, _, set := (models.Key{RateLimitRequests: 5}).OwnLimit(); set {
		t.Fatal("5 requests per 0 seconds read as a limit")
	}
}
