package api

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The API reference's "A key shows …" paragraph names every field of Key, so that a
// field added here and forgotten there fails a test.
func TestDocs_NamesEveryKeyField(t *testing.T) {
	raw, err := os.ReadFile("../docs/reference/api.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "A key shows ")
	if start < 0 {
		t.Fatal(`docs/reference/api.md has no paragraph "A key shows …"`)
	}
	para := text[start:]
	if end := strings.Index(para, "\n\n"); end > 0 {
		para = para[:end]
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(para, -1) {
		named[m[1]] = true
	}
	var missing []string
	for _, name := range jsonNames(reflect.TypeFor[Key]()) {
		if !named[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("docs/reference/api.md's key fields lack %v", missing)
	}
}

// jsonNames are the JSON member names of struct t, embedded structs flattened.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonNames(f.Type)...)
			continue
		}
		if name != "" && name != "-" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
