package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindAndMessage_ThroughWrapping(t *testing.T) {
	notFound := New(NotFound, "no such resource")
	forbidden := New(Forbidden, "the caller may not do this")
	cases := []struct {
		name string
		err  error
		kind Kind
		msg  string
		is   error
	}{
		{"sentinel wrapped with context", fmt.Errorf("models: get key: %w", notFound), NotFound, "no such resource", notFound},
		{"a reason of a sentinel's kind", fmt.Errorf("keys: %w", Because(forbidden, "bob may not act for alice")), Forbidden, "bob may not act for alice", forbidden},
		{"field problems", fmt.Errorf("create: %w", Field("name", "is required")), Invalid, "", nil},
		{"anything else", errors.New("connection reset"), Internal, "", nil},
		{"nil", nil, Internal, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.kind {
				t.Fatalf("KindOf = %s, want %s", got, tc.kind)
			}
			if got := MessageOf(tc.err); got != tc.msg {
				t.Fatalf("MessageOf = %q, want %q", got, tc.msg)
			}
			if tc.is != nil && !errors.Is(tc.err, tc.is) {
				t.Fatal("errors.Is lost the sentinel")
			}
		})
	}
}

// Every kind has its own status, and only Internal and Unavailable are the server's fault.
func TestHTTPStatus_OnePerKind(t *testing.T) {
	seen := map[int]Kind{}
	for k := Internal; int(k) < len(kindNames); k++ {
		s := HTTPStatus(k)
		if prev, dup := seen[s]; dup {
			t.Errorf("%s and %s share status %d", prev, k, s)
		}
		seen[s] = k
		if server := s >= 500; server != (k == Internal || k == Unavailable) || s < 400 {
			t.Errorf("%s: status %d", k, s)
		}
	}
	if got := HTTPStatus(Kind(200)); got != 500 {
		t.Errorf("an unknown kind: %d", got)
	}
}
