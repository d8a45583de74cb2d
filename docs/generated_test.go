// Package docs holds the documentation's tests: the generated references are current,
// the relative links resolve, and the README stays short.
package docs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyward/keyward/internal/docgen"
)

// Each generated page is what `make docs` would write now: a change to a settings
// table, a command, the API, a metric or an event must come with its page.
func TestGenerated_PagesAreCurrent(t *testing.T) {
	for _, p := range docgen.Pages() {
		t.Run(filepath.Base(p.Path), func(t *testing.T) {
			want, err := p.Generate()
			if err != nil {
				t.Fatalf("generate %s: %v", p.Path, err)
			}
			got, err := os.ReadFile(filepath.Join("..", p.Path))
			if err != nil {
				t.Fatalf("%s is missing: run make docs (%v)", p.Path, err)
			}
			if line, g, w, differ := firstDifference(got, want); differ {
				t.Errorf("%s is stale: run make docs\nfirst difference, line %d:\n  file:      %q\n  generated: %q", p.Path, line, g, w)
			}
		})
	}
}

// firstDifference is the first line (from 1) where got and want differ, and that line
// of each ("" past the end).
func firstDifference(got, want []byte) (line int, g, w string, differ bool) {
	if bytes.Equal(got, want) {
		return 0, "", "", false
	}
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; ; i++ {
		var a, b []byte
		if i < len(gl) {
			a = gl[i]
		}
		if i < len(wl) {
			b = wl[i]
		}
		if !bytes.Equal(a, b) || i >= len(gl) || i >= len(wl) {
			return i + 1, string(a), string(b), true
		}
	}
}

// Generating twice gives the same bytes: map order or time must not reach a page.
func TestGenerated_Deterministic(t *testing.T) {
	for _, p := range docgen.Pages() {
		a, errA := p.Generate()
		b, errB := p.Generate()
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: two runs differ (errors %v, %v)", p.Path, errA, errB)
		}
	}
}
