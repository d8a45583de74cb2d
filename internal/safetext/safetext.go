// Package safetext is the one rule for free text that people name things with (keys,
// consumers, clients): text that renders as what it stores. It refuses control
// characters, bidirectional overrides and isolates (the "Trojan Source" trick),
// zero-width and other invisible format characters, and line separators, so that a
// name shown in a console, a log or an audit trail cannot hide or reorder what it says.
package safetext

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Problem returns "" when s is acceptable, else what is wrong with it in words fit for
// the caller. multiline allows tab, CR and LF (descriptions); names allow none of them.
func Problem(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for i, r := range s {
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if what := kind(r); what != "" {
			return fmt.Sprintf("must not contain %s (U+%04X at byte %d)", what, r, i)
		}
	}
	return ""
}

func kind(r rune) string {
	switch {
	case unicode.Is(unicode.Cc, r):
		return "control characters"
	case isBidi(r):
		return "bidirectional control characters"
	case unicode.Is(unicode.Cf, r):
		return "zero-width or other invisible format characters"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "line or paragraph separators"
	case r&0xFFFE == 0xFFFE || (r >= 0xFDD0 && r <= 0xFDEF):
		return "Unicode noncharacters"
	}
	return ""
}

// isBidi: the embeddings, overrides, isolates and marks that reorder displayed text.
func isBidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200E || r == 0x200F || r == 0x061C
}

// Pattern is Problem's rule as a JSON-schema (ECMA-262) pattern that Go's regexp also
// reads: one negated class of the refused code points, written as the characters
// themselves (no escape syntax the two engines share reaches past U+FFFF). multiline
// admits tab, CR and LF as Problem does. The OpenAPI document puts it on every field
// Problem guards; pattern_test.go holds the two to agreement.
//
// It reads "^[^…]*$" with an empty alternative that changes nothing: schemathesis
// 4.32.5 rewrites "^[^…]*$" with a field's length bounds into "{m,n}", spelling the
// characters past U+FFFF as \U escapes, which ECMA-262 lacks; it leaves this form alone.
func Pattern(multiline bool) string { return "^(?:[^" + Refused(multiline) + "]*|)$" }

// Refused is the inside of Pattern's class, for patterns that also refuse other
// characters (a URL's blanks, say): "[^" + Refused(false) + " ]".
func Refused(multiline bool) string {
	if multiline {
		return classes()[1]
	}
	return classes()[0]
}

// classes derives both classes from kind, so the rule keeps one home.
var classes = sync.OnceValue(func() [2]string {
	var single, multi strings.Builder
	var lo rune = -1
	flush := func(hi rune) {
		for _, b := range []*strings.Builder{&single, &multi} {
			writeRange(b, lo, hi, b == &multi)
		}
		lo = -1
	}
	for r := rune(0); r <= unicode.MaxRune+1; r++ {
		refused := r <= unicode.MaxRune && utf8.ValidRune(r) && kind(r) != ""
		switch {
		case refused && lo < 0:
			lo = r
		case !refused && lo >= 0:
			flush(r - 1)
		}
	}
	return [2]string{single.String(), multi.String()}
})

// writeRange writes lo..hi to a class, leaving out tab, LF and CR when multiline.
func writeRange(b *strings.Builder, lo, hi rune, multiline bool) {
	if multiline {
		for _, allowed := range []rune{'\t', '\n', '\r'} {
			if lo <= allowed && allowed <= hi {
				if lo < allowed {
					writeRange(b, lo, allowed-1, true)
				}
				if allowed < hi {
					writeRange(b, allowed+1, hi, true)
				}
				return
			}
		}
	}
	b.WriteRune(lo)
	if hi > lo {
		if hi > lo+1 {
			b.WriteByte('-')
		}
		b.WriteRune(hi)
	}
}
