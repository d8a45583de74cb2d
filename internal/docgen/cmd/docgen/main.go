// Command docgen writes the generated pages of docs/reference (make docs). It is not
// shipped: run it from the repository's root.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyward/keyward/internal/docgen"
)

func main() {
	for _, p := range docgen.Pages() {
		b, err := p.Generate()
		if err == nil {
			err = os.MkdirAll(filepath.Dir(p.Path), 0o755)
		}
		if err == nil {
			err = os.WriteFile(p.Path, b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "docgen: %s: %v\n", p.Path, err)
			os.Exit(1)
		}
		fmt.Println("wrote", p.Path)
	}
}
