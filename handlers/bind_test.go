package handlers

import (
	"strings"
	"testing"
)

// What another JSON parser would read differently is refused: a body that is not one
// object, trailing data, names in another case, repeated names (found by fuzzing).
func TestBind_400_OneObjectExactNames(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"ci"}`)
	cases := []struct{ name, body, want string }{
		{"trailing brace", `{"name":"trail"}}`, "nothing after it"},
		{"trailing bracket", `{"name":"x"}]`, "nothing after it"},
		{"second object", `{"name":"a"} {"name":"b"}`, "nothing after it"},
		{"name in upper case", `{"NAME":"upper"}`, `unknown field "NAME"`},
		{"nested name in another case", `{"name":"x","rate_limit":{"Requests":5,"window_seconds":60}}`, `"rate_limit.Requests"`},
		{"repeated name", `{"name":"a","name":"b"}`, `"name" is given twice`},
		{"repeated name in metadata", `{"name":"a","metadata":{"k":1,"k":2}}`, `"metadata.k" is given twice`},
		{"null", `null`, "not null"},
		{"array", `[{"name":"a"}]`, "not an array"},
		{"string", `"name"`, "not a string"},
		{"number", `42`, "not a number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := h.mustStatus(t, 400, "POST", "/v1/keys", "alice-token", tc.body)
			if d, _ := body["detail"].(string); !strings.Contains(d, tc.want) {
				t.Fatalf("detail %q, want it to say %q", d, tc.want)
			}
		})
	}
	// Rotation's body is an object too: null no longer binds as "no options".
	h.mustStatus(t, 400, "POST", "/v1/keys/"+key["id"].(string)+"/rotate", "alice-token", `null`)
	if n := len(h.keys(t)); n != 1 {
		t.Fatalf("%d keys after refused requests, want 1", n)
	}
}
