package handlers

import (
	"encoding/base64"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"
	"time"
)

// FuzzAuditCursor: any text decodes to a position with an id or is refused, and a
// decoded position survives encoding; every position a page can end at (an event's
// time and a non-empty id short enough for the 200-byte bound) comes back as it went in.
func FuzzAuditCursor(f *testing.F) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, c := range []string{
		"", encodeAuditCursor(at, "11111111-1111-4111-8111-111111111111"), encodeAuditCursor(at, "a|b"),
		encodeAuditCursor(time.Time{}, "x"), encodeAuditCursor(at, ""), "a1:", "YTE6", "YTE6fA", "!!", "YTE6MjAzMC0wMS0wMlQwMzowNDowNVp8",
		base64.RawURLEncoding.EncodeToString([]byte("a1:" + strings.Repeat("9", 300))),
		base64.RawURLEncoding.EncodeToString([]byte("a1:2030-01-02T03:04:05+25:00|x")),
	} {
		f.Add(c, at.UnixNano(), "11111111-1111-4111-8111-111111111111")
	}
	f.Add("", int64(0), "x")
	f.Add("", int64(math.MinInt64), "\xff|\x00")
	f.Fuzz(func(t *testing.T, c string, nanos int64, id string) {
		if got, gotID, ok := decodeAuditCursor(c); ok {
			if u, err := uuid.Parse(gotID); err != nil || u.String() != gotID {
				t.Fatalf("decodeAuditCursor(%q) accepted the id %q, which is no event's", c, gotID)
			}
			// A crafted offset may move the time out of years 0..9999 in UTC, where
			// RFC 3339 ends; positions of real events stay inside.
			if y := got.UTC().Year(); y >= 0 && y <= 9999 && len(gotID) < 160 {
				again, againID, ok := decodeAuditCursor(encodeAuditCursor(got, gotID))
				if !ok || !again.Equal(got) || againID != gotID {
					t.Fatalf("position %v %q from %q does not survive encoding: %v %q %v", got, gotID, c, again, againID, ok)
				}
			}
		}
		at := time.Unix(0, nanos).UTC()
		// Event ids are canonical UUIDs; only those positions need to round-trip.
		if u, err := uuid.Parse(id); err != nil || u.String() != id {
			if _, _, ok := decodeAuditCursor(encodeAuditCursor(at, id)); ok {
				t.Fatalf("a cursor with the id %q, which no event has, was accepted", id)
			}
			return
		}
		got, gotID, ok := decodeAuditCursor(encodeAuditCursor(at, id))
		if !ok || !got.Equal(at) || gotID != id {
			t.Fatalf("decodeAuditCursor(encodeAuditCursor(%v, %q)) = %v, %q, %v", at, id, got, gotID, ok)
		}
	})
}
