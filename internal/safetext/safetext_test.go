package safetext

import (
	"strings"
	"testing"
)

func TestProblem(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		multiline bool
		want      string // substring of the problem; "" = accepted
	}{
		{"plain", "ci deploy key", false, ""},
		{"accents and CJK", "clé de déploiement 鍵", false, ""},
		{"emoji", "rocket 🚀", false, ""},
		{"empty", "", false, ""},
		{"newline in a name", "a\nb", false, "control characters"},
		{"newline in a description", "line one\nline two\ttabbed\r\n", true, ""},
		{"NUL", "a\x00b", true, "control characters"},
		{"escape", "\x1b[31mred", true, "control characters"},
		{"DEL", "a\x7fb", false, "control characters"},
		{"C1 control", "a\u0085b", true, "control characters"},
		{"right-to-left override", "invoice\u202Egpj.exe", false, "bidirectional"},
		{"left-to-right isolate", "a\u2066b", true, "bidirectional"},
		{"pop directional isolate", "a\u2069", false, "bidirectional"},
		{"right-to-left mark", "a\u200Fb", false, "bidirectional"},
		{"arabic letter mark", "a\u061Cb", false, "bidirectional"},
		{"zero-width space", "ad\u200Bmin", false, "zero-width"},
		{"zero-width joiner", "a\u200Db", false, "zero-width"},
		{"word joiner", "a\u2060b", false, "zero-width"},
		{"byte order mark", "\uFEFFname", false, "zero-width"},
		{"soft hyphen", "ad\u00ADmin", false, "zero-width"},
		{"tag character", "a\U000E0041", false, "zero-width"},
		{"line separator", "a\u2028b", true, "line or paragraph"},
		{"paragraph separator", "a\u2029b", true, "line or paragraph"},
		{"noncharacter", "a\uFFFFb", false, "noncharacters"},
		{"invalid UTF-8", "a\xffb", false, "valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Problem(tc.in, tc.multiline)
			if tc.want == "" && got != "" {
				t.Fatalf("Problem(%q) = %q, want accepted", tc.in, got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("Problem(%q) = %q, want it to mention %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestProblem_NamesTheCharacter(t *testing.T) {
	got := Problem("abc\u202Edef", false)
	if !strings.Contains(got, "U+202E") || !strings.Contains(got, "byte 3") {
		t.Fatalf("the message should name the code point and where it is: %q", got)
	}
}

func FuzzProblem(f *testing.F) {
	for _, s := range []string{"", "name", "a\u202Eb", "\x00", "é", "\xff"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		if Problem(s, multiline) != "" {
			return
		}
		for _, r := range s {
			if kind(r) != "" && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
				t.Fatalf("accepted %q holding %U", s, r)
			}
		}
	})
}
