package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
)

// ruled lists every type of the package with Rules; TestRules_EveryRuledTypeListed
// keeps it complete.
var ruled = []Ruled{
	AdminSet{}, Key{}, CreatedKey{}, KeyCreate{}, KeyUpdate{}, KeyRotate{}, UsageCounts{}, UsageTotals{}, DayUsage{}, KeyUsage{},
	Page[Key]{}, Problem{}, ACLGroup{}, ACLGroupCreate{}, Consumer{}, ConsumerCreate{}, ConsumerUpdate{},
	ConsumerRef{}, Client{}, CreatedClient{}, ClientCreate{}, ClientUpdate{}, ClientSecret{}, ClientTestRequest{}, ClientTest{},
	Token{}, OAuthError{}, AuditEvent{}, LeakReport{}, LeakVerdict{}, Health{}, Readiness{}, ReadinessChecks{}, Webhook{}, WebhookWithSecret{}, WebhookCreate{}, WebhookUpdate{}, WebhookSecretRotate{}, WebhookAttempt{}, WebhookDelivery{},
}

// The Go client imports this package: it must not pull in the server's dependencies.
func TestImports_StandardLibraryOnly(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for name, f := range pkg.Files {
			for _, imp := range f.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
					t.Errorf("%s imports %s: package api imports the standard library only", name, path)
				}
			}
		}
	}
}

func TestRules_EveryRuledTypeListed(t *testing.T) {
	listed := map[string]bool{}
	for _, r := range ruled {
		name, _, _ := strings.Cut(reflect.TypeOf(r).Name(), "[")
		listed[name] = true
	}
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pkgs["api"].Files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "Rules" {
				continue
			}
			typ := fn.Recv.List[0].Type
			if ix, ok := typ.(*ast.IndexExpr); ok {
				typ = ix.X
			}
			if name := typ.(*ast.Ident).Name; !listed[name] {
				t.Errorf("%s has Rules but is not in ruled", name)
			}
		}
	}
}

// jsonFields maps t's JSON names (embedded structs flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name != "" && name != "-" {
			out[name] = f.Type
		}
	}
	return out
}

func TestRules_NameFieldsOfTheirType(t *testing.T) {
	for _, r := range ruled {
		typ := reflect.TypeOf(r)
		fields := jsonFields(typ)
		for name, rule := range r.Rules() {
			ft, ok := fields[name]
			if !ok {
				t.Errorf("%v.Rules names %q, not a JSON field of %v", typ, name, typ)
				continue
			}
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for i, variant := range rule.OneOf {
				inner := jsonFields(ft)
				for v := range variant {
					if _, ok := inner[v]; !ok {
						t.Errorf("%v.Rules %q variant %d names %q, not a JSON field of %v", typ, name, i, v, ft)
					}
				}
			}
		}
	}
}
