package keys

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Cursors are opaque to callers: a versioned position, base64url-encoded.
const cursorPrefix = "k1:"

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, bool) {
	if c == "" {
		return 0, true
	}
	if len(c) > 64 {
		return 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(raw), cursorPrefix) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(raw), cursorPrefix))
	if err != nil || n < 0 || n > 1_000_000 {
		return 0, false
	}
	return n, true
}
