package exchange

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
)

// FuzzNormalizeScope: an accepted scope parameter comes out sorted, without repeats,
// of valid scope names only, and the same whatever the order of its words, so that
// equal requests compare and cache as equal; normalising again changes nothing.
func FuzzNormalizeScope(f *testing.F) {
	for _, s := range []string{
		"", " ", "openid", "profile email", "email profile email", "  b\ta\n c  ",
		"read:orders write/orders a.b-c_d", strings.Repeat("a", 64), strings.Repeat("a", 65),
		strings.Repeat("s ", api.ScopesMax), strings.Repeat("s ", api.ScopesMax+1), strings.Repeat(" ", MaxScopeParamLen+1),
		"a\u00a0b", "a\u2028b", "a\u0085b", "é", "a,b", "a;b", "\x00", "\xff", "offline_access openid",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := NormalizeScope(raw)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeScope(%q) failed with output %q", raw, got)
			}
			return
		}
		fields := strings.Fields(got)
		if strings.Join(fields, " ") != got {
			t.Fatalf("NormalizeScope(%q) = %q: not single-space separated", raw, got)
		}
		if !slices.IsSorted(fields) || len(slices.Compact(slices.Clone(fields))) != len(fields) {
			t.Fatalf("NormalizeScope(%q) = %q: not sorted without repeats", raw, got)
		}
		if len(fields) > api.ScopesMax {
			t.Fatalf("NormalizeScope(%q) = %q: more than %d scopes", raw, got, api.ScopesMax)
		}
		for _, s := range fields {
			if !scopePattern.MatchString(s) {
				t.Fatalf("NormalizeScope(%q) = %q: %q is not a scope name", raw, got, s)
			}
		}
		if again, err := NormalizeScope(got); err != nil || again != got {
			t.Fatalf("NormalizeScope(%q) = %q, %v; want it unchanged", got, again, err)
		}
		words := strings.Fields(raw)
		slices.Reverse(words)
		if other, err := NormalizeScope(strings.Join(words, " ")); err != nil || other != got {
			t.Fatalf("the words of %q reversed normalise to %q, %v; want %q", raw, other, err, got)
		}
	})
}

// FuzzNarrowScope: a request may narrow the key's scopes, never widen them. For a
// normalised request (what Exchange passes), the result is the request itself when
// every word is one of the key's scopes and a refusal otherwise; an empty request
// gets all the key's scopes, normalised.
func FuzzNarrowScope(f *testing.F) {
	for _, c := range [][2]string{
		{"", ""}, {"openid profile", ""}, {"openid profile", "openid"}, {"openid profile", "profile openid"},
		{"openid", "openid profile"}, {"b a b", ""}, {"a", "a a"}, {"", "a"}, {"read:x", "read:x write:x"},
		{"a  b\t c", "c"}, {"openid", "OPENID"}, {"a\u00a0b", "a"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, keyScopes, rawRequest string) {
		// Keys hold at most api.ScopesMax scopes and requests at most MaxScopeParamLen
		// bytes; longer inputs only slow the fuzzer down (narrowing is quadratic).
		if len(keyScopes) > MaxScopeParamLen || len(rawRequest) > MaxScopeParamLen {
			return
		}
		allowed := strings.Fields(keyScopes)
		if len(allowed) > 3*api.ScopesMax || len(strings.Fields(rawRequest)) > 3*api.ScopesMax {
			return
		}
		requested, err := NormalizeScope(rawRequest)
		if err != nil {
			// Exchange refuses such requests before narrowing; narrowing must still
			// never widen on its own.
			requested = rawRequest
		}
		got, ok := narrowScope(keyScopes, requested)
		if !ok {
			if got != "" {
				t.Fatalf("narrowScope(%q, %q) refused with scope %q", keyScopes, requested, got)
			}
			for _, w := range strings.Fields(requested) {
				if !slices.Contains(allowed, w) {
					return // refused for a good reason
				}
			}
			t.Fatalf("narrowScope(%q, %q) refused a request within the key's scopes", keyScopes, requested)
		}
		for _, s := range strings.Fields(got) {
			if !slices.Contains(allowed, s) {
				t.Fatalf("narrowScope(%q, %q) = %q: %q is not a scope of the key", keyScopes, requested, got, s)
			}
		}
		if err != nil {
			return
		}
		want := requested
		if requested == "" {
			want = strings.Join(slices.Compact(slices.Sorted(slices.Values(allowed))), " ")
		}
		if got != want {
			t.Fatalf("narrowScope(%q, %q) = %q, want %q", keyScopes, requested, got, want)
		}
	})
}
