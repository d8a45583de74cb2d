package keys

import (
	"reflect"
	"testing"

	"github.com/keyward/keyward/api"
)

type ruledRequest struct {
	Name  string  `json:"name"`
	Note  *string `json:"note,omitempty"`
	Kind  string  `json:"kind"`
	Count *int    `json:"count,omitempty"`
	Owner string  `json:"owner"`
	Free  string  `json:"free"`
}

func (ruledRequest) Rules() api.Rules {
	return api.Rules{
		"name":  {Required: true, MinLen: 1, MaxLen: 3, Trim: true, Safe: api.SafeLine},
		"note":  {MaxLen: 2, Safe: api.SafeMultiline},
		"kind":  {Enum: []string{"", "a", "b"}},
		"count": api.Between(1, 5),
		"owner": {MaxLen: 1},
	}
}

// A field's rule is all it takes for checkRules to hold the field to it: the problems
// come in the order of the fields, the caller's own fields are left alone, and trimmed
// text is kept (a pointer's as a new string, the caller's unchanged).
func TestCheckRules_HoldsEveryRuledField(t *testing.T) {
	note, count := "a\u202eb", 9
	r := ruledRequest{Name: "  ab  ", Note: &note, Kind: "c", Count: &count, Owner: "too long", Free: "\u202e"}
	got := checkRules(&r, "owner")
	want := []api.FieldError{
		{Field: "note", Message: "must be at most 2 characters"},
		{Field: "kind", Message: "must be one of a, b"},
		{Field: "count", Message: "must be between 1 and 5"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems %v, want %v", got, want)
	}
	if r.Name != "ab" {
		t.Errorf("name kept as %q, want it trimmed", r.Name)
	}

	for text, problem := range map[string]string{
		"":        "is required",
		"   ":     "is required",
		"abcd":    "must be at most 3 characters",
		"a\u202e": "must not contain bidirectional control characters (U+202E at byte 1)",
		"\xff":    "must be valid UTF-8",
		" abc ":   "",
	} {
		r := ruledRequest{Name: text}
		var got string
		if p := checkRules(&r); len(p) > 0 {
			got = p[0].Message
		}
		if got != problem {
			t.Errorf("name %q: %q, want %q", text, got, problem)
		}
	}

	padded := " x "
	r = ruledRequest{Name: "a", Note: &padded}
	if checkRules(&r); *r.Note != " x " || &padded != r.Note {
		t.Errorf("a text without Trim changed: %q", *r.Note)
	}
}
