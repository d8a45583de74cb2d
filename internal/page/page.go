// Package page is the one paging rule of every list of the API: its page-size bounds
// and its cursor. A cursor is opaque to callers and tied to the list, sort order and
// filter it was made for; it carries the sort value and id of the last row shown, a
// keyset position. The package knows neither HTTP nor SQL.
package page

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/keyward/keyward/api"
)

// Page sizes and the cursor bound of every list: the contract's (package api).
const (
	DefaultLimit = api.PageLimitDefault
	MaxLimit     = api.PageLimitMax
	MaxCursorLen = api.CursorMax
)

// Refusal messages of the limit and cursor parameters.
var (
	LimitRule  = fmt.Sprintf("must be a whole number between 1 and %d", MaxLimit)
	CursorRule = "is not a cursor of this list, its filter and sort order"
)

// Limit gives the page size for n, DefaultLimit when n is 0; ok is false outside
// 1..MaxLimit.
func Limit(n int) (size int, ok bool) {
	switch {
	case n == 0:
		return DefaultLimit, true
	case n < 1 || n > MaxLimit:
		return 0, false
	}
	return n, true
}

// Position is where the next page starts: strictly after the row with this sort
// value and id, in the list's order.
type Position struct {
	Text string    // the sort value of a text column
	At   time.Time // the sort value of a time column
	Null bool      // the sort value is NULL
	ID   string    // the row's id, a canonical UUID: the tie-breaker
}

// Scope is what a cursor is made for: one list, one sort order, one filter.
type Scope struct {
	sort   string
	filter string
}

// For gives the scope of list sorted by sort (one of the list's sort names, e.g.
// "-name": by name, descending) and filtered by the values filter, which each list
// gives in a fixed order: the filter parameters as the caller gave them. The page
// size is not part of it: a caller may change it from page to page.
func For(list, sort string, filter ...string) Scope {
	h := sha256.New()
	for _, v := range append([]string{list}, filter...) {
		// Length-prefixed, so that no two lists of values share an encoding.
		_, _ = h.Write(binary.AppendUvarint(nil, uint64(len(v))))
		_, _ = h.Write([]byte(v))
	}
	return Scope{sort: sort, filter: hex.EncodeToString(h.Sum(nil)[:8])}
}

// wire is a cursor before base64url: versioned, short field names.
type wire struct {
	V    int    `json:"v"`
	Sort string `json:"s"`
	// Filter is a fingerprint of the filter, so that a cursor of another filter,
	// which would skip or repeat rows, is refused rather than followed.
	Filter string `json:"f"`
	Text   string `json:"t,omitempty"`
	At     string `json:"a,omitempty"`
	Null   bool   `json:"n,omitempty"`
	ID     string `json:"i"`
}

const version = 1

// Cursor is the cursor of the page after p.
func (s Scope) Cursor(p Position) string {
	w := wire{V: version, Sort: s.sort, Filter: s.filter, Text: p.Text, Null: p.Null, ID: p.ID}
	if !p.At.IsZero() {
		w.At = p.At.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(w) // strings and an int only: it cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// Position decodes raw, a cursor of this scope: nil for "" (the first page). ok is
// false for anything else than what Cursor makes for this scope from a row: another
// scope's cursor, another encoding of one, an id that is not a canonical UUID, or
// text PostgreSQL would refuse (NUL, invalid UTF-8).
func (s Scope) Position(raw string) (p *Position, ok bool) {
	if raw == "" {
		return nil, true
	}
	if len(raw) > MaxCursorLen {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wire
	if dec.Decode(&w) != nil || dec.More() {
		return nil, false
	}
	if w.V != version || w.Sort != s.sort || w.Filter != s.filter {
		return nil, false
	}
	if id, err := uuid.Parse(w.ID); err != nil || id.String() != w.ID {
		return nil, false
	}
	if !utf8.ValidString(w.Text) || strings.ContainsRune(w.Text, 0) {
		return nil, false
	}
	pos := Position{Text: w.Text, Null: w.Null, ID: w.ID}
	if w.At != "" {
		if pos.At, err = time.Parse(time.RFC3339Nano, w.At); err != nil {
			return nil, false
		}
	}
	// Only the bytes Cursor makes: no second spelling of one position.
	if s.Cursor(pos) != raw {
		return nil, false
	}
	return &pos, true
}
