package safetext

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var compiled = [2]*regexp.Regexp{regexp.MustCompile(Pattern(false)), regexp.MustCompile(Pattern(true))}

// agree fails when the pattern and Problem disagree on valid UTF-8 s (JSON cannot carry
// anything else, and a pattern says nothing about bytes).
func agree(t *testing.T, s string, multiline bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		return
	}
	re := compiled[0]
	if multiline {
		re = compiled[1]
	}
	problem := Problem(s, multiline)
	if matched := re.MatchString(s); matched != (problem == "") {
		t.Fatalf("multiline=%v %q: pattern matches %v, Problem says %q", multiline, s, matched, problem)
	}
}

func TestPattern_AgreesWithProblem(t *testing.T) {
	table := []string{
		"", "ci deploy key", "clé 鍵 🚀", "a\nb", "a\tb", "a\rb", "\r\n", "a\x00b", "\x1b[31m",
		"a\x7f", "a\u0085b", "a\u009fb", "a\u00a0b", "invoice\u202Egpj.exe", "a\u2066b", "a\u2069",
		"a\u200Eb", "a\u200Fb", "a\u061Cb", "ad\u200Bmin", "a\u200Db", "a\u2060b", "\uFEFFx",
		"ad\u00ADmin", "a\U000E0041", "a\U000E0001", "a\u2028b", "a\u2029b", "a\uFFFEb", "a\uFFFF",
		"a\uFDD0b", "a\uFDEF", "a\uFDCF", "a\uFDF0", "a\U0001FFFE", "a\U0010FFFF", "a\U0010FFFD",
		"a\U000110BDb", "a\U0001D173", "x]y", "x-y", "x^y", `x\y`, "a\u2065b", "a\u206Ab",
	}
	for _, s := range table {
		agree(t, s, false)
		agree(t, s, true)
	}
}

// Every code point alone and between letters: the whole rule, not a sample.
func TestPattern_AgreesOnEveryCodePoint(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := "a" + string(r) + "b"
		agree(t, s, false)
		agree(t, s, true)
	}
}

func TestPattern_IsPlainECMAScriptClass(t *testing.T) {
	for _, multiline := range []bool{false, true} {
		p := Pattern(multiline)
		inner := strings.TrimSuffix(strings.TrimPrefix(p, "^(?:[^"), "]*|)$")
		// No escapes and no bracket inside: the engines differ on those, not on literals.
		if len(inner) == len(p) || strings.ContainsAny(inner, `\[]^`) {
			t.Fatalf("pattern is not one negated class of literals: %q", p)
		}
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{"", "name", "a\u202Eb", "\x00", "é", "line\nnext", "\t", "\uFFFF", "\U000E0041", "\u2028"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) { agree(t, s, multiline) })
}
