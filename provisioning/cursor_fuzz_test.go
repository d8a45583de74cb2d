package provisioning

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// FuzzListCursor: any text is a position of the list's sort order, with a UUID and
// valid text, or refused as the cursor field; a decoded position survives encoding;
// and every position a page can end at (a row's sort value and id) comes back as it
// went in, for its own sort order only.
func FuzzListCursor(f *testing.F) {
	id := "11111111-1111-4111-8111-111111111111"
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, c := range []string{
		"", encodeCursor(cursor{Sort: "name", Text: "shop", ID: id}), encodeCursor(cursor{Sort: "created_at", At: at, ID: id}),
		encodeCursor(cursor{Sort: "name", ID: "x"}), encodeCursor(cursor{Sort: "name", Text: "\u2028é\U0001F600", ID: id}),
		encodeCursor(cursor{Sort: "name", ID: "{" + id + "}"}), encodeCursor(cursor{Sort: "name", ID: "urn:uuid:" + id}),
		"eyJzIjoibmFtZSJ9", "bnVsbA", "W10", "e30", "!!", strings.Repeat("e30", 200), "eyJzIjoibmFtZSIsInQiOiJcdWQ4MDAiLCJpIjoiMTExMTExMTEtMTExMS00MTExLTgxMTEtMTExMTExMTExMTExIn0",
	} {
		f.Add(c, "name", "shop", at.UnixNano(), []byte(id[:16]))
	}
	f.Add("", "created_at", "", int64(0), []byte{})
	f.Add("", "-client_id", "\xff", int64(math.MaxInt64), []byte{0xff})
	f.Fuzz(func(t *testing.T, raw, sort, text string, nanos int64, idBytes []byte) {
		var fs fields
		pos := fs.cursor(raw, sort)
		switch {
		case raw == "":
			if pos != nil || fs.err() != nil {
				t.Fatalf("the empty cursor gave %+v, %v", pos, fs.err())
			}
		case pos == nil:
			if len(fs.list) != 1 || fs.list[0].Field != "cursor" {
				t.Fatalf("cursor(%q) refused with problems %+v", raw, fs.list)
			}
		default:
			if fs.err() != nil || uuid.Validate(pos.ID) != nil || !utf8.ValidString(pos.Text) {
				t.Fatalf("cursor(%q) accepted %+v with problems %v", raw, pos, fs.err())
			}
			// Years past 9999 (a crafted offset) have no JSON form; real rows have.
			if y := pos.At.UTC().Year(); y >= 0 && y <= 9999 {
				checkCursorRoundTrip(t, cursor{Sort: sort, Text: pos.Text, At: pos.At, ID: pos.ID})
			}
		}

		var b [16]byte
		copy(b[:], idBytes)
		row := cursor{Sort: sort, Text: text, At: time.Unix(0, nanos), ID: uuid.UUID(b).String()}
		if !utf8.ValidString(text) || !utf8.ValidString(sort) {
			return // no row holds such text, and sort orders are names
		}
		checkCursorRoundTrip(t, row)
		var other fields
		if p := other.cursor(encodeCursor(row), sort+"x"); p != nil {
			t.Fatalf("a cursor of sort %q was taken for sort %q", sort, sort+"x")
		}
	})
}

// checkCursorRoundTrip: c, encoded, decodes to its own position unless it is longer
// than a cursor may be.
func checkCursorRoundTrip(t *testing.T, c cursor) {
	t.Helper()
	enc := encodeCursor(c)
	var fs fields
	pos := fs.cursor(enc, c.Sort)
	if len(enc) > 512 {
		if pos != nil {
			t.Fatalf("a %d-byte cursor was accepted", len(enc))
		}
		return
	}
	if pos == nil || pos.Text != c.Text || !pos.At.Equal(c.At) || pos.ID != c.ID {
		t.Fatalf("cursor %+v came back as %+v (%v)", c, pos, fs.err())
	}
}
