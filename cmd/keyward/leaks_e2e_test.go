package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/smtpsink"
	"github.com/keyward/keyward/models"
)

// Leaked-key reports on the real stack (docs/administering/audit.md): what a secret
// scanner sends, and what an attacker would try instead.

func leakReport(token string) string {
	b, _ := json.Marshal([]map[string]string{{"token": token, "type": "keyward_api_key",
		"url": "https://github.com/octocat/Hello-World/blob/main/.env", "source": "content"}})
	return string(b)
}

func (r *running) report(t *testing.T, body string, headers ...string) reply {
	t.Helper()
	return call(t, "POST", r.url+"/v1/keys/leaked", strings.NewReader(body), append([]string{"Content-Type", "application/json"}, headers...)...)
}

func labels(t *testing.T, got reply) []string {
	t.Helper()
	var verdicts []map[string]string
	if err := json.Unmarshal([]byte(got.raw), &verdicts); err != nil {
		t.Fatalf("answer is not an array of verdicts: %d %s", got.status, got.raw)
	}
	var out []string
	for _, v := range verdicts {
		if len(v) != 3 {
			t.Fatalf("a verdict says more than token_raw, token_type and label: %v", v)
		}
		out = append(out, v["label"])
	}
	return out
}

func mailSettings(t *testing.T) map[string]string {
	sink := smtpsink.Require(t)
	return map[string]string{"KEYWARD_SMTP_URL": sink.URL, "KEYWARD_MAIL_FROM": "keyward@example.test"}
}

func TestLeakedKeys(t *testing.T) {
	kc := kctest.Require(t)
	sink := smtpsink.Require(t)
	app := startAppWith(t, kc, mailSettings(t))
	ctx := context.Background()

	t.Run("ValidKey_RevokedAtOnce_OwnerMailed_AuditedWhereFound", func(t *testing.T) {
		_, username := kc.TempUser(t, "kw-leak")
		id, key := app.createKey(t, kc.Login(t, username), "leaky")
		got := app.report(t, leakReport(key))
		if got.status != 200 || strings.Join(labels(t, got), ",") != "true_positive" {
			t.Fatalf("report: %d %s", got.status, got.raw)
		}
		if _, err := app.store.KeyByID(ctx, "", id); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the reported key is still live: %v", err)
		}
		if ex := app.exchange(t, key); ex.status != http.StatusUnauthorized {
			t.Fatalf("the reported key still exchanges: %d", ex.status)
		}
		evs, _ := app.store.ListAudit(ctx, models.AuditFilter{TargetType: "key", TargetID: id, Limit: 10})
		var leaked *models.AuditEvent
		for i := range evs {
			if evs[i].Action == "key.leaked" {
				leaked = &evs[i]
			}
		}
		if leaked == nil || !strings.Contains(leaked.Details, "github.com/octocat/Hello-World") ||
			!strings.Contains(leaked.Details, `"source":"content"`) || !strings.Contains(leaked.Details, `"action":"revoke"`) {
			t.Fatalf("key.leaked audit: %+v", leaked)
		}
		if strings.Contains(leaked.Details, key) {
			t.Fatal("the audit holds the key")
		}
		mails := sink.To(t, username+"@example.test")
		if len(mails) != 1 || !strings.Contains(mails[0].Body, "leaky") || !strings.Contains(mails[0].Body, "revoked") ||
			!strings.Contains(mails[0].Body, "/keys/"+id) {
			t.Fatalf("owner's mail: %d mails %+v", len(mails), mails)
		}
		if strings.Contains(mails[0].Raw, key) {
			t.Fatal("the mail holds the key")
		}
		// A replay of the same report: harmless, and no second mail.
		again := app.report(t, leakReport(key))
		if again.status != 200 || labels(t, again)[0] != "false_positive" {
			t.Fatalf("replay: %d %s", again.status, again.raw)
		}
		if n := len(sink.To(t, username+"@example.test")); n != 1 {
			t.Fatalf("%d mails after a replay, want 1", n)
		}
	})

	t.Run("NotOurKeys_FalsePositive_NothingTouched", func(t *testing.T) {
		_, username := kc.TempUser(t, "kw-leak-fp")
		id, key := app.createKey(t, kc.Login(t, username), "kept")
		parsed, _ := exchange.ParseKey(key)
		other, _ := exchange.GenerateKey(exchange.EnvLive) // another Keyward's key: well-formed, unknown here
		wrongSecret := exchange.ParsedKey{Env: parsed.Env, LookupID: parsed.LookupID, Secret: other.Secret}.String()
		tampered := key[:len(key)-1] + map[bool]string{true: "A", false: "B"}[key[len(key)-1] != 'A']
		body, _ := json.Marshal([]map[string]string{
			{"token": other.String(), "type": "t"}, {"token": wrongSecret, "type": "t"}, {"token": tampered, "type": "t"},
			{"token": "ghp_0123456789abcdef", "type": "t"}, {"token": "' OR 1=1 --", "type": "t"},
		})
		got := app.report(t, string(body))
		if got.status != 200 || strings.Join(labels(t, got), ",") != "false_positive,false_positive,false_positive,false_positive,false_positive" {
			t.Fatalf("report: %d %s", got.status, got.raw)
		}
		if _, err := app.store.KeyByID(ctx, "", id); err != nil {
			t.Fatalf("a key with the reported id but another secret was touched: %v", err)
		}
		app.mustToken(t, key)
	})

	t.Run("BadReports_4xx_NothingDone", func(t *testing.T) {
		_, username := kc.TempUser(t, "kw-leak-bad")
		id, key := app.createKey(t, kc.Login(t, username), "kept")
		many := make([]map[string]string, 101)
		for i := range many {
			many[i] = map[string]string{"token": key}
		}
		manyBody, _ := json.Marshal(many)
		for name, c := range map[string]struct {
			body, ct string
			status   int
		}{
			"garbage":        {"not json", "application/json", 400},
			"an object":      {`{"token":"` + key + `"}`, "application/json", 400},
			"numbers":        {`[{"token":12}]`, "application/json", 400},
			"no token":       {`[{"type":"x"}]`, "application/json", 400},
			"empty array":    {`[]`, "application/json", 400},
			"two documents":  {leakReport(key) + leakReport(key), "application/json", 400},
			"101 entries":    {string(manyBody), "application/json", 400},
			"oversized":      {`[{"token":"` + strings.Repeat("a", 70<<10) + `"}]`, "application/json", 413},
			"long url":       {`[{"token":"` + key + `","url":"` + strings.Repeat("u", 3000) + `"}]`, "application/json", 400},
			"control chars":  {`[{"token":"` + key + `","source":"a\u0000b"}]`, "application/json", 400},
			"not json media": {leakReport(key), "text/plain", 415},
		} {
			got := call(t, "POST", app.url+"/v1/keys/leaked", strings.NewReader(c.body), "Content-Type", c.ct)
			if got.status != c.status || !strings.HasPrefix(got.header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s: %d %s, want %d problem+json", name, got.status, got.raw, c.status)
			}
		}
		if _, err := app.store.KeyByID(ctx, "", id); err != nil {
			t.Fatalf("a refused report revoked the key: %v", err)
		}
	})
}

// TestLeakedKeys_RateLimitedPerAddress: one address gets 429 with Retry-After past the
// budget, and nothing it sends after that is looked at.
func TestLeakedKeys_RateLimitedPerAddress(t *testing.T) {
	kc := kctest.Require(t)
	app := startAppWith(t, kc, nil)
	_, username := kc.TempUser(t, "kw-leak-rate")
	id, key := app.createKey(t, kc.Login(t, username), "rate")
	limited := false
	for i := 0; i < 200 && !limited; i++ {
		got := app.report(t, leakReport("kw_live_nothing"))
		if got.status == http.StatusTooManyRequests {
			limited = got.header.Get("Retry-After") != ""
			if !limited {
				t.Fatal("429 without Retry-After")
			}
		} else if got.status != 200 {
			t.Fatalf("report %d: %d %s", i, got.status, got.raw)
		}
	}
	if !limited {
		t.Fatal("200 reports from one address were never limited")
	}
	if got := app.report(t, leakReport(key)); got.status != http.StatusTooManyRequests {
		t.Fatalf("after the limit: %d", got.status)
	}
	if _, err := app.store.KeyByID(context.Background(), "", id); err != nil {
		t.Fatal("a rate-limited report acted on the key")
	}
}

// TestLeakedKeys_SignaturesRequired: with reporter keys configured, only a report
// signed (ECDSA P-256 over the raw body, GitHub's headers) by one of them is handled.
func TestLeakedKeys_SignaturesRequired(t *testing.T) {
	kc := kctest.Require(t)
	reporter, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&reporter.PublicKey)
	const keyID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"
	doc, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{"key_identifier": keyID,
		"key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true}}})
	file := filepath.Join(t.TempDir(), "reporters.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	app := startAppWith(t, kc, map[string]string{"KEYWARD_LEAK_REPORTER_KEYS_FILE": file, "KEYWARD_LEAK_ACTION": "disable"})
	_, username := kc.TempUser(t, "kw-leak-signed")
	owner := kc.Login(t, username)
	id, key := app.createKey(t, owner, "signed")
	body := leakReport(key)
	sign := func(k *ecdsa.PrivateKey, b string) string {
		sum := sha256.Sum256([]byte(b))
		sig, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
		return base64.StdEncoding.EncodeToString(sig)
	}
	for name, h := range map[string][]string{
		"unsigned":              nil,
		"forged signature":      {"Github-Public-Key-Identifier", keyID, "Github-Public-Key-Signature", sign(forger, body)},
		"signature of another":  {"Github-Public-Key-Identifier", keyID, "Github-Public-Key-Signature", sign(reporter, body+" ")},
		"unknown key id":        {"Github-Public-Key-Identifier", "other", "Github-Public-Key-Signature", sign(reporter, body)},
		"signature not base64":  {"Github-Public-Key-Identifier", keyID, "Github-Public-Key-Signature", "!!!"},
		"identifier, no sig":    {"Github-Public-Key-Identifier", keyID},
		"garbage DER signature": {"Github-Public-Key-Identifier", keyID, "Github-Public-Key-Signature", base64.StdEncoding.EncodeToString([]byte("junk"))},
	} {
		if got := app.report(t, body, h...); got.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, got.status, got.raw)
		}
	}
	if k, err := app.store.KeyByID(context.Background(), "", id); err != nil || !k.Enabled {
		t.Fatalf("a refused report acted on the key: %v %v", k.Enabled, err)
	}
	signed := []string{"Github-Public-Key-Identifier", keyID, "Github-Public-Key-Signature", sign(reporter, body)}
	got := app.report(t, body, signed...)
	if got.status != 200 || labels(t, got)[0] != "true_positive" {
		t.Fatalf("signed report: %d %s", got.status, got.raw)
	}
	k, err := app.store.KeyByID(context.Background(), "", id)
	if err != nil || k.Enabled {
		t.Fatalf("KEYWARD_LEAK_ACTION=disable: key enabled=%v err=%v, want kept and disabled", k.Enabled, err)
	}
	// The owner cannot enable a leaked key again.
	if r := call(t, "PATCH", app.url+"/v1/keys/"+id, strings.NewReader(`{"enabled":true}`),
		"Authorization", "Bearer "+owner, "Content-Type", "application/json"); r.status != http.StatusForbidden {
		t.Fatalf("owner re-enables a leaked key: %d %s", r.status, r.raw)
	}
	// A replay of the signed report changes nothing and records nothing more.
	if again := app.report(t, body, signed...); again.status != 200 {
		t.Fatalf("replay: %d", again.status)
	}
	evs, _ := app.store.ListAudit(context.Background(), models.AuditFilter{TargetType: "key", TargetID: id, Limit: 20})
	n := 0
	for _, e := range evs {
		if e.Action == "key.leaked" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d key.leaked events after a replay, want 1", n)
	}
}
