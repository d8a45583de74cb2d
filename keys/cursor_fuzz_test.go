package keys

import (
	"strings"
	"testing"
)

// FuzzCursor: key-list cursors decode to an offset within bounds or are refused, and
// every offset a page can produce survives encoding.
func FuzzCursor(f *testing.F) {
	for _, c := range []string{"", encodeCursor(0), encodeCursor(50), encodeCursor(1_000_000), encodeCursor(1_000_001),
		encodeCursor(-1), "azE6NQ==", "azE6KzU", "azE6MDA1", "azE6", "a1:5", "!!!!", strings.Repeat("A", 65),
		"azE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"} {
		f.Add(c, 50)
	}
	f.Add("", -1)
	f.Add("", 1<<62)
	f.Fuzz(func(t *testing.T, c string, offset int) {
		if n, ok := decodeCursor(c); !ok {
			if n != 0 {
				t.Fatalf("decodeCursor(%q) refused with offset %d", c, n)
			}
		} else {
			if n < 0 || n > 1_000_000 {
				t.Fatalf("decodeCursor(%q) = %d: out of bounds", c, n)
			}
			if again, ok := decodeCursor(encodeCursor(n)); !ok || again != n {
				t.Fatalf("offset %d from %q does not survive encoding: %d, %v", n, c, again, ok)
			}
		}
		n, ok := decodeCursor(encodeCursor(offset))
		if inBounds := offset >= 0 && offset <= 1_000_000; ok != inBounds || ok && n != offset {
			t.Fatalf("decodeCursor(encodeCursor(%d)) = %d, %v", offset, n, ok)
		}
	})
}
