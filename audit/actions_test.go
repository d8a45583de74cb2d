package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// actionText is how an action looks in the services' code: object.verb[.more].
var actionText = regexp.MustCompile(`^(key|consumer|client|acl_group|webhook|retention)\.[a-z_]+(\.[a-z_]+)?$`)

// The catalogue (the events reference is generated from it) and the actions the
// services record agree: every action-like literal of a file that records audit
// events is catalogued, and every catalogued action is recorded somewhere.
func TestActions_AreTheOnesRecorded(t *testing.T) {
	recorded := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && d.Name() != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		records := false
		var lits []string
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if name := n.Sel.Name; name == "Record" || name == "RecordStrict" || name == "record" || name == "recordStrict" {
					records = true
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && actionText.MatchString(s) {
					lits = append(lits, s)
				}
			}
			return true
		})
		if records {
			for _, s := range lits {
				recorded[s] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	catalogued := map[string]bool{}
	for _, a := range Actions() {
		catalogued[a.Name] = true
		if _, ok := recorded[a.Name]; !ok {
			t.Errorf("%s is catalogued in actions.go but recorded nowhere", a.Name)
		}
		if a.Means == "" || !strings.HasPrefix(a.Name, a.Object+".") {
			t.Errorf("%s: object %q, meaning %q", a.Name, a.Object, a.Means)
		}
	}
	for name, path := range recorded {
		if !catalogued[name] {
			t.Errorf("%s (recorded in %s) is not in actions.go: add it with what it means", name, path)
		}
	}
	if len(recorded) < 20 {
		t.Fatalf("found only %d recorded actions: the scan is broken", len(recorded))
	}
}
