package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
)

// bodyKinds are the request types of every route that binds a JSON body.
var bodyKinds = []func() any{
	func() any { return new(api.KeyCreate) },
	func() any { return new(api.KeyUpdate) },
	func() any { return new(api.KeyRotate) },
	func() any { return new(api.ACLGroupCreate) },
	func() any { return new(api.ConsumerCreate) },
	func() any { return new(api.ConsumerUpdate) },
	func() any { return new(api.ClientCreate) },
	func() any { return new(api.ClientUpdate) },
	func() any { return new(api.ClientTestRequest) },
	func() any { return new(api.WebhookCreate) },
	func() any { return new(api.WebhookUpdate) },
	func() any { return new(api.WebhookSecretRotate) },
}

// FuzzBindJSON: for every body type, bindJSON either binds valid UTF-8 JSON sent as
// application/json (or untyped) or refuses with an error the caller may see, with a 4xx
// status; what it bound survives a strict re-encoding. Nothing panics.
func FuzzBindJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"name":"ci","environment":"staging","scopes":["openid"],"metadata":{"a":1},"rate_limit":{"requests":5,"window_seconds":60},"ip_allowlist":["10.0.0.0/8"]}`,
		`{"name":null,"scopes":null,"enabled":false,"expires_at":"2030-01-01T00:00:00Z"}`, `{"grace_period_hours":0}`,
		`{"acl_groups":["a","b"],"redirect_uris":["https://x.example/cb"],"secret":"s"}`,
		``, ` `, `null`, `[]`, `"x"`, `1`, `{`, `{"name":`, `{"name":1}`, `{"scopes":"openid"}`, `{"rate_limit":[]}`,
		`{"unknown":1}`, `{"NAME":"x"}`, `{"name":"a","name":"b"}`, `{} {}`, `{}}`, `{}]`, `{}x`,
		`{"name":"\ud800"}`, "{\"name\":\"\xff\"}", "\xef\xbb\xbf{}", `{"expires_in_days":1e400}`, `{"expires_in_days":-0}`,
		`{"grace_period_hours":99999999999999999999}`, `{"metadata":` + strings.Repeat(`[`, 10001) + `}`,
		`{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`,
	} {
		for kind := range bodyKinds {
			f.Add(uint8(kind), "application/json", s)
		}
	}
	for _, ct := range []string{"", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "application/json;", "application/x-www-form-urlencoded", ";;", "application/json; a=\"\x00\""} {
		f.Add(uint8(0), ct, `{"name":"ci"}`)
	}
	gin.SetMode(gin.TestMode)
	f.Fuzz(func(t *testing.T, kind uint8, contentType, body string) {
		dst := bodyKinds[int(kind)%len(bodyKinds)]()
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if contentType != "" {
			c.Request.Header.Set("Content-Type", contentType)
		}
		c.Request.Body = http.MaxBytesReader(rec, c.Request.Body, MaxBodyBytes) // as limitBody does

		err := bindJSON(c, dst)
		if err != nil {
			var aerr *apiError
			if !errors.As(err, &aerr) {
				t.Fatalf("bindJSON(%q) = %v: not an error the caller may see", body, err)
			}
			if aerr.status < 400 || aerr.status > 499 || aerr.title == "" || aerr.detail == "" {
				t.Fatalf("bindJSON(%q) = %d %q %q: want a 4xx with title and detail", body, aerr.status, aerr.title, aerr.detail)
			}
			return
		}
		if contentType != "" {
			if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
				t.Fatalf("bindJSON bound a body sent as %q", contentType)
			}
		}
		if len(body) > MaxBodyBytes || !utf8.ValidString(body) || strings.TrimSpace(body) == "" {
			t.Fatalf("bindJSON bound a body it must refuse: %d bytes, valid UTF-8 %v", len(body), utf8.ValidString(body))
		}
		if !json.Valid([]byte(body)) || strings.TrimSpace(body)[0] != '{' {
			t.Fatalf("bindJSON bound %q, which is not exactly one JSON object", body)
		}
		enc, err := json.Marshal(dst)
		if err != nil {
			t.Fatalf("what bindJSON bound from %q does not encode: %v", body, err)
		}
		again := bodyKinds[int(kind)%len(bodyKinds)]()
		dec := json.NewDecoder(bytes.NewReader(enc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(again); err != nil {
			t.Fatalf("what bindJSON bound from %q does not decode strictly again: %v (%s)", body, err, enc)
		}
	})
}
