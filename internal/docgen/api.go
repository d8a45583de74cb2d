package docgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/internal/safetext"
)

// APIEndpoints is docs/reference/api-endpoints.md: the OpenAPI document the server
// serves at /openapi.json, one section per operation, grouped by resource.
func APIEndpoints() ([]byte, error) {
	spec := handlers.OpenAPIDocument()
	var d doc
	d.header("API endpoints reference", "the OpenAPI document the server serves at /openapi.json (handlers/)")
	d.line("Every route of Keyward's HTTP API: who may call it, what it takes and what it answers. Errors are")
	d.line("`application/problem+json` (the token endpoint answers RFC 6749 errors); how authentication, errors")
	d.line("and paging work is in [the API guide](api.md). The same document is served at `GET /openapi.json`.")
	d.line("")

	// One section per path and answer: methods whose operations read the same (the
	// forward-auth routes take every method) share it.
	type entry struct {
		heading string
		op      *openapi3.Operation
	}
	groups := map[string][]entry{}
	var order []string
	paths := spec.Paths.Map()
	for _, path := range slices.Sorted(mapKeys(paths)) {
		ops := paths[path].Operations()
		var methods []string
		var bodies []string
		var firsts []*openapi3.Operation
		for _, method := range methodOrder {
			op, ok := ops[method]
			if !ok {
				continue
			}
			var probe doc
			writeOperation(&probe, "", op, map[string]string{})
			if i := slices.Index(bodies, probe.String()); i >= 0 {
				methods[i] += ", " + method
				continue
			}
			methods, bodies, firsts = append(methods, method), append(bodies, probe.String()), append(firsts, op)
		}
		g := group(path)
		if _, seen := groups[g]; !seen {
			order = append(order, g)
		}
		for i := range methods {
			groups[g] = append(groups[g], entry{methods[i] + " " + path, firsts[i]})
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { return groupRank(a) - groupRank(b) })

	// The index: every operation in one table.
	var rows [][]string
	for _, g := range order {
		for _, e := range groups[g] {
			rows = append(rows, []string{"[" + code(e.heading) + "](#" + anchor(e.heading) + ")", text(e.op.Summary), caller(e.op, true)})
		}
	}
	d.table([]string{"Operation", "What", "Who"}, rows)

	seen := map[string]string{} // a fields table already written → where
	for _, g := range order {
		d.line("## ", g)
		d.line("")
		for _, e := range groups[g] {
			d.line("### ", e.heading)
			d.line("")
			writeOperation(&d, e.heading, e.op, seen)
		}
	}
	return d.bytes(), nil
}

var methodOrder = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// group is the resource a path belongs to: its segment after /v1/, else the service's own.
func group(path string) string {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return "Service"
	}
	seg, _, _ := strings.Cut(rest, "/")
	switch seg {
	case "token", "forward-auth":
		return "Exchange"
	case "acl-groups":
		return "ACL groups"
	}
	return strings.ToUpper(seg[:1]) + seg[1:]
}

// groupRank puts what most readers need first: the exchange, keys, then the rest by name.
func groupRank(g string) int {
	switch g {
	case "Exchange":
		return 0
	case "Keys":
		return 1
	case "Service":
		return 3
	}
	return 2
}

// caller says who may call op.
func caller(op *openapi3.Operation, short bool) string {
	if op.Security == nil || len(*op.Security) == 0 {
		if short {
			return "anyone"
		}
		return "Anyone: no Keycloak token."
	}
	if admin, _ := op.Extensions[handlers.AdminOnly].(bool); admin {
		if short {
			return "admins"
		}
		role := ""
		for _, s := range config.Describe() {
			if s.Name == "KEYWARD_ADMIN_ROLE" {
				role = s.Default
			}
		}
		return "Admins: a Keycloak access token (`Authorization: Bearer …`) of a user holding the admin realm role (" +
			code("KEYWARD_ADMIN_ROLE") + ", default " + code(role) + ")."
	}
	if short {
		return "users"
	}
	return "Users: a Keycloak access token of a person (`Authorization: Bearer …`); what each may see or change is below."
}

// writeOperation writes what follows the heading h of op.
func writeOperation(d *doc, h string, op *openapi3.Operation, seen map[string]string) {
	d.line(text(op.Summary) + ".")
	d.line("")
	if op.Description != "" {
		d.line(text(op.Description))
		d.line("")
	}
	d.line("**Who may call:** ", caller(op, false))
	d.line("")

	if len(op.Parameters) > 0 {
		var rows [][]string
		for _, pr := range op.Parameters {
			p := pr.Value
			typ, cons := "", ""
			if p.Schema != nil {
				typ, cons = typeOf(p.Schema.Value), constraints(p.Schema.Value)
			}
			rows = append(rows, []string{code(p.Name), p.In, typ, yesNo(p.Required, "yes"), cons, text(p.Description)})
		}
		d.line("**Parameters:**")
		d.line("")
		d.table([]string{"Name", "In", "Type", "Required", "Constraints", "What"}, rows)
	}

	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		body := rb.Value
		for _, media := range slices.Sorted(mapKeys(body.Content)) {
			d.line("**Request body** (", code(media), yesNo(body.Required, ", required"), yesNo(!body.Required, ", optional"), "):",
				yesNo(body.Description != "", " "+text(body.Description)+"."))
			d.line("")
			writeFields(d, body.Content[media].Schema, "the request body of "+h, h, false, seen)
		}
	}

	var rows [][]string
	var main *openapi3.Response
	mainStatus := ""
	for _, status := range slices.SortedFunc(mapKeys(op.Responses.Map()), func(a, b string) int { return strings.Compare(a, b) }) {
		r := op.Responses.Value(status).Value
		var media []string
		for _, m := range slices.Sorted(mapKeys(r.Content)) {
			media = append(media, code(m))
		}
		desc := ""
		if r.Description != nil {
			desc = *r.Description
		}
		var headers []string
		for _, name := range slices.Sorted(mapKeys(r.Headers)) {
			h := code(name)
			if hv := r.Headers[name].Value; hv != nil && hv.Description != "" {
				h += ": " + text(hv.Description)
			}
			headers = append(headers, h)
		}
		rows = append(rows, []string{status, text(desc), strings.Join(media, ", "), strings.Join(headers, "; ")})
		if main == nil && strings.HasPrefix(status, "2") && len(r.Content) > 0 {
			main, mainStatus = r, status
		}
	}
	d.line("**Responses:**")
	d.line("")
	d.table([]string{"Status", "When", "Body", "Headers"}, rows)
	if main != nil {
		for _, m := range slices.Sorted(mapKeys(main.Content)) {
			d.line("**Answer ", mainStatus, "** (", code(m), "):")
			d.line("")
			writeFields(d, main.Content[m].Schema, "the answer "+mainStatus+" of "+h, h, true, seen)
		}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// writeFields writes a body's fields as a table, or points to the same table written
// before (a key's fields are the answer of several operations).
func writeFields(d *doc, ref *openapi3.SchemaRef, what, heading string, answer bool, seen map[string]string) {
	if ref == nil || ref.Value == nil {
		d.line("No schema.")
		d.line("")
		return
	}
	s := ref.Value
	var rows [][]string
	flatten(s, "", &rows)
	if len(rows) == 0 {
		line := typeOf(s)
		if c := constraints(s); c != "" {
			line += "; " + c
		}
		if s.Description != "" {
			line += ": " + text(s.Description)
		}
		d.line(strings.ToUpper(line[:1])+line[1:], ".")
		d.line("")
		return
	}
	var b doc
	// In an answer, a required field is one always there (null when its type admits it).
	b.table([]string{"Field", "Type", map[bool]string{false: "Required", true: "Always"}[answer], "Constraints", "What"}, rows)
	t := b.String()
	if where, ok := seen[t]; ok {
		d.line("The same fields as ", where, ".")
		d.line("")
		return
	}
	seen[t] = "[" + what + "](#" + anchor(heading) + ")"
	if s.Description != "" {
		d.line(text(s.Description) + ".")
		d.line("")
	}
	d.WriteString(t)
}

// flatten lists an object's fields, nested objects as a.b and array items as a[].b;
// the forms of a oneOf are listed one after the other.
func flatten(s *openapi3.Schema, prefix string, rows *[][]string) {
	if len(s.OneOf) > 0 {
		for i, v := range s.OneOf {
			*rows = append(*rows, []string{"", "", "", "", fmt.Sprintf("**%sform %d of %d:**", yesNo(prefix != "", code(strings.TrimSuffix(prefix, "."))+", "), i+1, len(s.OneOf))})
			flatten(v.Value, prefix, rows)
		}
		return
	}
	if s.Type.Is(openapi3.TypeArray) && s.Items != nil && prefix == "" && len(s.Items.Value.Properties) > 0 {
		flatten(s.Items.Value, "[].", rows)
		return
	}
	for _, name := range slices.Sorted(mapKeys(s.Properties)) {
		p := s.Properties[name].Value
		full := prefix + name
		*rows = append(*rows, []string{code(full), typeOf(p), yesNo(slices.Contains(s.Required, name), "yes"), constraints(p), text(p.Description)})
		switch {
		case len(p.Properties) > 0 || len(p.OneOf) > 0:
			flatten(p, full+".", rows)
		case p.Type.Is(openapi3.TypeArray) && p.Items != nil && (len(p.Items.Value.Properties) > 0 || len(p.Items.Value.OneOf) > 0):
			flatten(p.Items.Value, full+"[].", rows)
		}
	}
}

// typeOf is a schema's type in words: "string (uuid)", "array of string", "… or null".
func typeOf(s *openapi3.Schema) string {
	if len(s.AnyOf) > 0 {
		return typeOf(s.AnyOf[0].Value) // the value; the other form is "" (as if absent)
	}
	t := ""
	if s.Type != nil && len(s.Type.Slice()) > 0 {
		t = s.Type.Slice()[0]
	}
	if len(s.OneOf) > 0 {
		t = "object"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if s.Type.Is(openapi3.TypeArray) && s.Items != nil {
		t = "array of " + typeOf(s.Items.Value)
	}
	if s.Nullable {
		t += " or null"
	}
	return t
}

// constraints are a schema's bounds in words.
func constraints(s *openapi3.Schema) string {
	if len(s.AnyOf) > 0 {
		c := constraints(s.AnyOf[0].Value)
		return strings.TrimPrefix(c+"; empty: as if absent", "; ")
	}
	var out []string
	if len(s.Enum) > 0 {
		var vs []string
		for _, v := range s.Enum {
			switch v := v.(type) {
			case nil:
				vs = append(vs, "null")
			case string:
				if v == "" {
					vs = append(vs, code(`""`)+" (empty)")
				} else {
					vs = append(vs, code(v))
				}
			default:
				vs = append(vs, code(fmt.Sprint(v)))
			}
		}
		if len(vs) == 1 {
			out = append(out, "always "+vs[0])
		} else {
			out = append(out, "one of "+strings.Join(vs, ", "))
		}
	}
	switch {
	case s.MaxLength != nil:
		out = append(out, strconv.FormatUint(s.MinLength, 10)+".."+strconv.FormatUint(*s.MaxLength, 10)+" characters")
	case s.MinLength == 1:
		out = append(out, "not empty")
	case s.MinLength > 1:
		out = append(out, "at least "+strconv.FormatUint(s.MinLength, 10)+" characters")
	}
	switch {
	case s.Min != nil && s.Max != nil:
		out = append(out, num(*s.Min)+".."+num(*s.Max))
	case s.Min != nil:
		out = append(out, "at least "+num(*s.Min))
	case s.Max != nil:
		out = append(out, "at most "+num(*s.Max))
	}
	switch s.Pattern {
	case "":
	case safetext.Pattern(false):
		out = append(out, "no control or invisible characters")
	case safetext.Pattern(true):
		out = append(out, "no control or invisible characters (tabs and line breaks allowed)")
	default:
		out = append(out, "pattern "+code(s.Pattern))
	}
	if s.MinItems == 1 {
		out = append(out, "not empty")
	} else if s.MinItems > 1 {
		out = append(out, "at least "+strconv.FormatUint(s.MinItems, 10)+" items")
	}
	if s.MaxItems != nil {
		out = append(out, "at most "+strconv.FormatUint(*s.MaxItems, 10)+" items")
	}
	if s.UniqueItems {
		out = append(out, "no repeats")
	}
	if s.MaxProps != nil {
		out = append(out, "at most "+strconv.FormatUint(*s.MaxProps, 10)+" members")
	}
	if s.Type.Is(openapi3.TypeArray) && s.Items != nil {
		if c := constraints(s.Items.Value); c != "" && len(s.Items.Value.Properties) == 0 {
			out = append(out, "each: "+c)
		}
	}
	return strings.Join(out, "; ")
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
