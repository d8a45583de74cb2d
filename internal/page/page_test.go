package page

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

const id = "11111111-1111-4111-8111-111111111111"

func TestLimit_DefaultAndBounds(t *testing.T) {
	for n, want := range map[int]int{0: DefaultLimit, 1: 1, MaxLimit: MaxLimit} {
		if got, ok := Limit(n); !ok || got != want {
			t.Errorf("Limit(%d) = %d, %v; want %d", n, got, ok, want)
		}
	}
	for _, n := range []int{-1, MaxLimit + 1} {
		if _, ok := Limit(n); ok {
			t.Errorf("Limit(%d) accepted", n)
		}
	}
}

func TestCursor_OnlyForItsOwnListSortAndFilter(t *testing.T) {
	s := For("keys", "name", "alice", "")
	c := s.Cursor(Position{Text: "ci", ID: id})
	if p, ok := s.Position(c); !ok || p.Text != "ci" || p.ID != id {
		t.Fatalf("own cursor: %+v, %v", p, ok)
	}
	for name, other := range map[string]Scope{
		"another sort":   For("keys", "-name", "alice", ""),
		"another filter": For("keys", "name", "alice", "x"),
		"values shifted": For("keys", "name", "", "alice"),
		"another list":   For("audit", "name", "alice", ""),
	} {
		if _, ok := other.Position(c); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCursor_RefusesWhatThisAPIDoesNotMake(t *testing.T) {
	s := For("audit", "-at")
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	enc := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	good := s.Cursor(Position{At: at, ID: id})
	for name, raw := range map[string]string{
		"garbage":          "!!",
		"padded":           good + "=",
		"not an object":    enc("[]"),
		"version 2":        strings.Replace(mustDecode(t, good), `"v":1`, `"v":2`, 1),
		"id not canonical": s.Cursor(Position{At: at, ID: "AAAAAAAA-1111-4111-8111-111111111111"}),
		"id braced":        s.Cursor(Position{At: at, ID: "{" + id + "}"}),
		"id with NUL":      s.Cursor(Position{At: at, ID: id + "\x00"}),
		"text with NUL":    s.Cursor(Position{Text: "a\x00", ID: id}),
		"unknown field":    enc(strings.Replace(mustDecode(t, good), `{`, `{"x":1,`, 1)),
		"time offset":      enc(strings.Replace(mustDecode(t, good), "Z", "+00:00", 1)),
		"too long":         s.Cursor(Position{Text: strings.Repeat("a", MaxCursorLen), ID: id}),
	} {
		if strings.HasPrefix(raw, "{") {
			raw = enc(raw)
		}
		if p, ok := s.Position(raw); ok {
			t.Errorf("%s: accepted as %+v", name, p)
		}
	}
}

func mustDecode(t *testing.T, c string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzCursor: any text is refused, or is a position with a canonical UUID and text
// PostgreSQL stores whose cursor is that very text; every position a row can end a
// page at comes back as it went in, for its own scope only.
func FuzzCursor(f *testing.F) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	s := For("keys", "name", "alice")
	for _, c := range []string{
		"", s.Cursor(Position{Text: "ci", ID: id}), s.Cursor(Position{At: at, ID: id}), s.Cursor(Position{Null: true, ID: id}),
		s.Cursor(Position{Text: "\u2028é\U0001F600<&>", ID: id}), s.Cursor(Position{ID: "x"}), "e30", "bnVsbA", "!!", "azE6MQ",
		"YTE6MjAzMC0wMS0wMlQwMzowNDowNVp8", strings.Repeat("e30", 700),
	} {
		f.Add(c, "name", "ci", at.UnixNano(), false, []byte(id[:16]))
	}
	f.Add("", "-created_at", "\xff", int64(0), true, []byte{0xff})
	f.Fuzz(func(t *testing.T, raw, sort, text string, nanos int64, null bool, idBytes []byte) {
		scope := For("keys", sort, "alice")
		if p, ok := scope.Position(raw); ok && raw != "" {
			if uuid.Validate(p.ID) != nil || !utf8.ValidString(p.Text) || strings.ContainsRune(p.Text, 0) {
				t.Fatalf("Position(%q) accepted %+v", raw, p)
			}
			if again := scope.Cursor(*p); again != raw {
				t.Fatalf("Position(%q) = %+v, whose cursor is %q", raw, p, again)
			}
		} else if ok && p != nil {
			t.Fatalf("the empty cursor gave %+v", p)
		}

		var b [16]byte
		copy(b[:], idBytes)
		row := Position{Text: text, At: time.Unix(0, nanos).UTC(), Null: null, ID: uuid.UUID(b).String()}
		if !utf8.ValidString(text) || strings.ContainsRune(text, 0) || !utf8.ValidString(sort) {
			return // no row holds such text, and sort orders are names
		}
		c := scope.Cursor(row)
		p, ok := scope.Position(c)
		switch {
		case len(c) > MaxCursorLen:
			if ok {
				t.Fatalf("a %d-byte cursor was accepted", len(c))
			}
		case !ok || p.Text != row.Text || !p.At.Equal(row.At) || p.Null != row.Null || p.ID != row.ID:
			t.Fatalf("position %+v came back as %+v, %v", row, p, ok)
		}
		if _, ok := For("keys", sort+"x", "alice").Position(c); ok {
			t.Fatalf("a cursor of sort %q was taken for sort %q", sort, sort+"x")
		}
		if _, ok := For("keys", sort, "bob").Position(c); ok {
			t.Fatal("a cursor of one filter was taken for another")
		}
	})
}
