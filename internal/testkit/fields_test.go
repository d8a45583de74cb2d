package testkit

import (
	"slices"
	"testing"
	"time"
)

type inner struct{ A, B string }

type source struct {
	Name    string `json:"name"`
	Hidden  []byte
	Nested  *inner `json:"nested"`
	Limit   int
	Forever bool
	At      *time.Time
}

type shown struct {
	Name, A, Limit string
	At             *time.Time
}

// Unread finds the fields a mapping forgets, nested ones included, and counts a field
// read together with another (Limit, unless Forever) as read.
func TestUnread_FindsForgottenFields(t *testing.T) {
	var full source
	Fill(&full)
	if full.Name != "Name" || full.Nested.B != "B" || full.Limit != 7 || !full.Forever || len(full.Hidden) != 1 {
		t.Fatalf("filled as %+v", full)
	}
	forever := func(s source) any {
		out := shown{Name: s.Name, At: s.At, Limit: "forever"}
		if s.Nested != nil {
			out.A = s.Nested.A
		}
		if !s.Forever {
			out.Limit = string(rune('0' + s.Limit))
		}
		return out
	}
	limited := full
	limited.Forever = false
	if got := Unread(forever, full, limited); !slices.Equal(got, []string{"Hidden", "nested.B"}) {
		t.Fatalf("unread: %v", got)
	}
	if full.Nested.B != "B" {
		t.Fatal("Unread changed the value it was given")
	}
	if got := ZeroFields(shown{Name: "x"}); !slices.Equal(got, []string{"A", "Limit", "At"}) {
		t.Fatalf("zero fields: %v", got)
	}
}
