package models

import (
	"strings"
	"testing"
	"time"
)

type heardKeys []string

func (h *heardKeys) KeyChanged(id string)      { *h = append(*h, id) }
func (h *heardKeys) Listening(bool, time.Time) {}

// What a listener does with each payload on KeyChannel: key changes are passed on;
// its own latest heartbeat is recognised; anyone else's heartbeat (another replica's,
// or its own earlier connection's), or an older one of its own, is neither.
func TestHeartbeat_Payloads(t *testing.T) {
	ours := newHeartbeat()
	other := newHeartbeat()
	if ours.nonce == other.nonce {
		t.Fatal("two connections drew the same nonce")
	}
	var heard heardKeys
	if ours.heard(heartbeatPrefix+ours.nonce+":0", &heard) {
		t.Fatal("a heartbeat counted as ours before any was sent")
	}
	first := ours.next()
	second := ours.next()
	otherLatest := other.next()
	for _, tc := range []struct {
		name, payload string
		latest        bool
	}{
		{"our latest heartbeat", second, true},
		{"our earlier heartbeat, come back late", first, false},
		{"another listener's heartbeat, same sequence", otherLatest, false},
		{"another listener's heartbeat with our sequence", heartbeatPrefix + other.nonce + ":2", false},
		{"our nonce with a later sequence", heartbeatPrefix + ours.nonce + ":3", false},
		{"a heartbeat with nothing after the prefix", heartbeatPrefix, false},
		{"a key", "AbC123xyz", false},
		{"every key", AllKeys, false},
	} {
		if got := ours.heard(tc.payload, &heard); got != tc.latest {
			t.Errorf("%s: latest = %v, want %v", tc.name, got, tc.latest)
		}
	}
	if len(heard) != 2 || heard[0] != "AbC123xyz" || heard[1] != AllKeys {
		t.Fatalf("key changes passed on: %q, want the key and every key, no heartbeat", heard)
	}
	if !strings.HasPrefix(second, heartbeatPrefix) || strings.ContainsAny(strings.TrimPrefix(second, heartbeatPrefix), " \n") {
		t.Fatalf("payload %q", second)
	}
}
