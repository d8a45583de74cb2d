package handlers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/leaks"
)

// leakedRoute drives POST /v1/keys/leaked through its answers against the document.
func (cf *conformance) leakedRoute(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"leaky"}`)["key"].(string)
	const js = "application/json"
	report := `[{"token":"` + key + `","type":"keyward_api_key","url":"https://example.test/x","source":"content"}]`
	for _, c := range []call{
		{status: 200, contentType: js, body: report},
		{status: 200, contentType: js, body: report}, // a replay: false_positive
		{status: 200, contentType: js, body: `[{"token":"ghp_not_ours"}]`},
		{status: 400, contentType: js, body: `{"token":"x"}`, req: reqInvalid},
		{status: 400, contentType: js, body: `[]`, req: reqInvalid},
		{status: 400, contentType: js, body: `[{"type":"x"}]`, req: reqInvalid},
		{status: 400, contentType: js, body: `[{"token":"x","url":"` + strings.Repeat("u", api.LeakURLMax+1) + `"}]`, req: reqInvalid},
		{status: 413, contentType: js, body: `[{"token":"` + strings.Repeat("a", 70<<10) + `"}]`, req: reqInvalid},
		{status: 415, contentType: "text/plain", body: report, req: reqInvalid},
	} {
		c.method, c.docPath, c.url = "POST", leakedRoute, leakedRoute
		cf.do(t, h.engine, c)
	}
	// The answers for the first report, as the reporter reads them.
	for i, c := range []struct{ body, want string }{
		{`[{"token":"ghp_not_ours","type":"t"}]`, `[{"token_raw":"ghp_not_ours","token_type":"t","label":"false_positive"}]`},
	} {
		rec := cf.do(t, h.engine, call{method: "POST", docPath: leakedRoute, url: leakedRoute, contentType: js, body: c.body, status: 200})
		if got := strings.TrimSpace(rec.Body.String()); got != c.want {
			t.Errorf("answer %d = %s, want %s", i, got, c.want)
		}
	}
	// Past the address's budget (20 in the harness): 429.
	var last int
	for range 25 {
		r := httptest.NewRequest("POST", leakedRoute, strings.NewReader(`[{"token":"x"}]`))
		r.Header.Set("Content-Type", js)
		rec := httptest.NewRecorder()
		h.engine.ServeHTTP(rec, r)
		last = rec.Code
	}
	if last != 429 {
		t.Errorf("after 25 reports: %d, want 429", last)
	}
	cf.do(t, h.engine, call{method: "POST", docPath: leakedRoute, url: leakedRoute, contentType: js, body: `[{"token":"x"}]`, status: 429, req: reqValid})

	// Signatures required: unsigned and badly signed reports get 401.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	file := filepath.Join(t.TempDir(), "reporters.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Key-Identifier": "k1"}, Bytes: der})
	if err := os.WriteFile(file, block, 0o600); err != nil {
		t.Fatal(err)
	}
	reporters, err := leaks.LoadReporters(file)
	if err != nil {
		t.Fatal(err)
	}
	signedOnly := newHarness(t, func(c *harnessConfig) {
		c.server.Leaks = leaks.New(leaks.Config{Store: h.store, Reporters: reporters})
	})
	body := `[{"token":"x"}]`
	sum := sha256.Sum256([]byte(body))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	good := base64.StdEncoding.EncodeToString(sig)
	for _, c := range []call{
		{status: 401, contentType: js, body: body},
		{status: 401, contentType: js, body: body, headers: []string{leaks.HeaderKeyID, "k1", leaks.HeaderSignature, base64.StdEncoding.EncodeToString([]byte("no"))}},
		{status: 401, contentType: js, body: body + " ", headers: []string{leaks.HeaderKeyID, "k1", leaks.HeaderSignature, good}},
		{status: 200, contentType: js, body: body, headers: []string{leaks.HeaderKeyID, "k1", leaks.HeaderSignature, good}},
	} {
		c.method, c.docPath, c.url = "POST", leakedRoute, leakedRoute
		cf.do(t, signedOnly.engine, c)
	}
}
