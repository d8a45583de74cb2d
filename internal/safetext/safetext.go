// Package safetext is the one rule for free text that people name things with (keys,
// consumers, clients): text that renders as what it stores. It refuses control
// characters, bidirectional overrides and isolates (the "Trojan Source" trick),
// zero-width and other invisible format characters, and line separators, so that a
// name shown in a console, a log or an audit trail cannot hide or reorder what it says.
package safetext

import (
	"fmt"
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
