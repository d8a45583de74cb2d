package exchange

import (
	"strings"
	"testing"
)

func TestGenerateKey_RoundTripsThroughParse(t *testing.T) {
	for _, env := range []string{EnvLive, EnvTest} {
		k, err := GenerateKey(env)
		if err != nil {
			t.Fatal(err)
		}
		s := k.String()
		if !strings.HasPrefix(s, "kw_"+env+"_") {
			t.Fatalf("key %q lacks prefix kw_%s_", s[:8], env)
		}
		got, err := ParseKey(s)
		if err != nil {
			t.Fatalf("ParseKey(generated) = %v", err)
		}
		if got != k {
			t.Fatalf("parsed parts differ from generated ones")
		}
		if !strings.HasPrefix(s, got.Prefix()) || strings.Contains(got.Prefix(), got.Secret) {
			t.Fatalf("prefix must be the public start of the key, without the secret")
		}
	}
}

func TestGenerateKey_UniqueAndFullLength(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		k, err := GenerateKey(EnvLive)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.LookupID) != lookupIDLen || len(k.Secret) != secretLen {
			t.Fatalf("lengths %d/%d", len(k.LookupID), len(k.Secret))
		}
		if seen[k.Secret] || seen[k.LookupID] {
			t.Fatal("duplicate random part")
		}
		seen[k.Secret], seen[k.LookupID] = true, true
	}
}

func TestParseKey_RefusesTyposAndGarbage(t *testing.T) {
	k, _ := GenerateKey(EnvLive)
	good := k.String()
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":              "",
		"garbage":            "hello world",
		"other prefix":       "sk_live_" + good[8:],
		"unknown env":        strings.Replace(good, "kw_live_", "kw_prod_", 1),
		"typo in secret":     flip(30),
		"typo in lookup id":  flip(9),
		"typo in checksum":   flip(len(good) - 1),
		"truncated":          good[:len(good)-1],
		"extra char":         good + "x",
		"no checksum":        good[:len(good)-7],
		"non-base62":         good[:20] + "-" + good[21:],
		"sql":                "kw_live_' OR 1=1 --",
		"very long":          strings.Repeat("kw_live_", 1000),
		"env switched":       strings.Replace(good, "kw_live_", "kw_test_", 1),
		"unicode":            "kw_live_ÄÖÜäöü" + good[14:],
		"whitespace wrapped": " " + good + " ",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseKey(s); err == nil {
				t.Fatalf("ParseKey accepted %q", s)
			}
		})
	}
}

func TestHasher_MatchesOnlyTheSameSecretAndPepper(t *testing.T) {
	h1, err := NewHasher([]byte(strings.Repeat("p", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := NewHasher([]byte(strings.Repeat("q", 32)))
	sum := h1.Hash("secret")
	if len(sum) != 32 {
		t.Fatalf("hash is %d bytes", len(sum))
	}
	if !h1.Matches("secret", sum) {
		t.Fatal("same secret must match")
	}
	if h1.Matches("secreT", sum) || h2.Matches("secret", sum) {
		t.Fatal("another secret or pepper must not match")
	}
	if _, err := NewHasher([]byte("short")); err == nil {
		t.Fatal("short pepper accepted")
	}
}
