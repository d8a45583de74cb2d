package exchange

import (
	"errors"
	"strings"
	"testing"
)

// A fixed valid key, so that the seeds need no randomness.
var fuzzValidKey = ParsedKey{Env: EnvLive, LookupID: "0123456789AB", Secret: "CDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"}.String()

// FuzzParseKey: any text either parses to a key that renders back to exactly that
// text, or is refused with ErrMalformedKey; nothing panics.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		fuzzValidKey,
		ParsedKey{Env: EnvTest, LookupID: "zzzzzzzzzzzz", Secret: strings.Repeat("0", secretLen)}.String(),
		"", "kw_", "kw_live_", "kw_live__", "kw_prod_" + strings.Repeat("a", 44) + "_000000",
		"kw_live_" + strings.Repeat("a", 44) + "_000000", // wrong checksum
		"kw_live_" + strings.Repeat("a", 44) + "_00000",  // short checksum
		"kw_live_" + strings.Repeat("é", 22) + "_000000", // right byte length, not base62
		strings.Repeat("x", 1000),                        // past maxKeyLen
		fuzzValidKey + "\n", " " + fuzzValidKey, fuzzValidKey[:len(fuzzValidKey)-1],
		strings.ToUpper(fuzzValidKey), "kw_live_" + strings.Repeat("_", 51),
		"kw_live_" + strings.Repeat("\x00", 44) + "_" + strings.Repeat("\xff", 6),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedKey) {
				t.Fatalf("ParseKey(%q) = %v, want ErrMalformedKey", s, err)
			}
			if k != (ParsedKey{}) {
				t.Fatalf("ParseKey(%q) failed but returned parts %+v", s, k)
			}
			return
		}
		if got := k.String(); got != s {
			t.Fatalf("ParseKey(%q).String() = %q", s, got)
		}
		if k.Env != EnvLive && k.Env != EnvTest || len(k.LookupID) != lookupIDLen || len(k.Secret) != secretLen ||
			!isBase62(k.LookupID) || !isBase62(k.Secret) {
			t.Fatalf("ParseKey(%q) accepted malformed parts %+v", s, k)
		}
		if !strings.HasPrefix(s, k.Prefix()) || strings.Contains(k.Prefix(), k.Secret) {
			t.Fatalf("prefix %q of %q is not the public start of the key", k.Prefix(), s)
		}
	})
}

// Edits of a key, applied by FuzzParseKey_OneEditRefused.
const (
	editSubstitute = iota
	editInsert
	editDelete
	editSwap
	editCount
)

// FuzzParseKey_OneEditRefused builds a valid key from arbitrary parts, and draws a
// fresh one from GenerateKey; each must parse back to its parts, and one typo in it (a
// changed, inserted or deleted character, or two neighbours swapped) is always
// refused. That holds because every key is 59 bytes (an insertion or deletion breaks
// the shape) and CRC-32 catches every error burst of up to 32 bits, which a
// substitution or a swap of neighbours is; the checksum's six base62 digits hold any
// CRC-32 value, so a changed digit is caught too.
func FuzzParseKey_OneEditRefused(f *testing.F) {
	f.Add([]byte("0123456789AB"), []byte("CDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"), true, uint8(0), byte('x'), uint8(editSubstitute))
	f.Add([]byte{}, []byte{}, false, uint8(58), byte('0'), uint8(editSubstitute)) // last checksum digit
	f.Add([]byte{0xff, 0x00}, []byte{1, 2, 3}, true, uint8(52), byte('_'), uint8(editInsert))
	f.Add([]byte("a"), []byte("b"), false, uint8(7), byte('_'), uint8(editDelete)) // the env separator
	f.Add([]byte("swap"), []byte("me"), true, uint8(51), byte(0), uint8(editSwap)) // secret and '_' swap
	f.Add([]byte("z"), []byte("z"), true, uint8(20), byte('Z'), uint8(editSwap))
	f.Fuzz(func(t *testing.T, lookup, secret []byte, live bool, pos uint8, c byte, edit uint8) {
		env := EnvTest
		if live {
			env = EnvLive
		}
		built := ParsedKey{Env: env, LookupID: toBase62(lookup, lookupIDLen), Secret: toBase62(secret, secretLen)}
		generated, err := GenerateKey(env)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []ParsedKey{built, generated} {
			s := want.String()
			if got, err := ParseKey(s); err != nil || got != want {
				t.Fatalf("ParseKey(%q) = %+v, %v; want %+v", s, got, err, want)
			}
			typo, ok := oneEdit(s, int(pos)%len(s), c, edit%editCount)
			if !ok {
				continue
			}
			if k, err := ParseKey(typo); err == nil {
				t.Fatalf("one edit of %q, %q, was accepted as %+v", s, typo, k)
			}
		}
	})
}

// oneEdit applies edit at byte i of s; ok is false when the result equals s.
func oneEdit(s string, i int, c byte, edit uint8) (string, bool) {
	switch edit {
	case editSubstitute:
		return s[:i] + string([]byte{c}) + s[i+1:], s[i] != c
	case editInsert:
		return s[:i] + string([]byte{c}) + s[i:], true
	case editDelete:
		return s[:i] + s[i+1:], true
	default: // editSwap
		if i+1 == len(s) || s[i] == s[i+1] {
			return s, false
		}
		return s[:i] + string([]byte{s[i+1], s[i]}) + s[i+2:], true
	}
}

// toBase62 maps arbitrary bytes onto exactly n base62 characters.
func toBase62(b []byte, n int) string {
	out := make([]byte, n)
	for i := range out {
		var v byte
		if len(b) > 0 {
			v = b[i%len(b)] + byte(i/len(b))
		}
		out[i] = base62Alphabet[int(v)%62]
	}
	return string(out)
}
