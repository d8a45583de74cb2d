// Package recipe fills the ${NAME} placeholders of the gateway recipes in deploy/gateway,
// the substitution their headers document (envsubst with the list of names), for the
// gateway tests and `make bench` alike.
package recipe

import (
	"fmt"
	"regexp"
	"slices"
)

var placeholder = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// Fill replaces the ${NAME} placeholders of src. Every placeholder must have a value and
// every value a placeholder, so that a recipe and its users cannot drift apart silently;
// $name without braces (nginx's own variables) is left alone.
func Fill(src string, values map[string]string) (string, error) {
	used := map[string]bool{}
	var missing []string
	out := placeholder.ReplaceAllStringFunc(src, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		used[name] = true
		return v
	})
	for name := range values {
		if !used[name] {
			missing = append(missing, name+" (given, not in the recipe)")
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("placeholders without a value or values without a placeholder: %v", missing)
	}
	return out, nil
}
