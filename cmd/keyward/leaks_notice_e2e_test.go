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
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/smtpsink"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/webhooks"
)

// The leak notice on the real stack (docs/administering/audit.md): a report's words never reach
// the owner's mail from Keyward; a signed reporter's URL gives its host at most,
// labelled unverified.

// phishing is what an attacker holding a key would put in a report to have Keyward
// mail its owner for it.
var phishing = map[string]string{
	"url":    "https://evil.example/keyward-login?msg=Keyward+security+team",
	"source": "Keyward security team: log in at https://evil.example to keep your keys",
	"type":   "URGENT call +1 555 0100",
}

// phishingParts are pieces of phishing that must appear nowhere in a notice. The phone
// number is looked for whole: a key id or message id may hold "555" by chance.
var phishingParts = []string{"evil.example", "keyward-login", "security team", "log in at", "keep your keys", "URGENT", "555 0100"}

// signingReporter is a secret scanner whose public key Keyward is configured with.
type signingReporter struct {
	keyID, file string
	key         *ecdsa.PrivateKey
}

func newSigningReporter(t *testing.T) signingReporter {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	r := signingReporter{keyID: "notice-reporter", file: filepath.Join(t.TempDir(), "reporters.pem"), key: priv}
	block := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Key-Identifier": r.keyID}, Bytes: der})
	if err := os.WriteFile(r.file, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// headers are the signature headers for body.
func (r signingReporter) headers(body string) []string {
	sum := sha256.Sum256([]byte(body))
	sig, _ := ecdsa.SignASN1(rand.Reader, r.key, sum[:])
	return []string{"Github-Public-Key-Identifier", r.keyID, "Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig)}
}

// mailText is a stored mail's subject and body as its reader sees them (quoted-printable
// decoded), and its raw form, so that no encoding hides a word from a check.
func mailText(t *testing.T, m smtpsink.Message) string {
	t.Helper()
	body := m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(m.Body)))
		if err != nil {
			t.Fatalf("mail body: %v", err)
		}
		body = string(b)
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	return m.Header.Get("Subject") + "\n" + body + "\n" + m.Raw
}

// leakedEvent is the key's key.leaked audit event.
func leakedEvent(t *testing.T, app *running, keyID string) models.AuditEvent {
	t.Helper()
	evs, err := app.store.ListAudit(context.Background(), models.AuditFilter{TargetType: "key", TargetID: keyID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == "key.leaked" {
			return e
		}
	}
	t.Fatalf("no key.leaked event for %s", keyID)
	return models.AuditEvent{}
}

func TestLeakNotice_UnsignedReport_MailCarriesNoneOfIt(t *testing.T) {
	kc := kctest.Require(t)
	sink := smtpsink.Require(t)
	app := startAppWith(t, kc, mailSettings(t))
	_, username := kc.TempUser(t, "kw-leak-phish")
	id, key := app.createKey(t, kc.Login(t, username), "phished")
	report := map[string]string{"token": key}
	for k, v := range phishing {
		report[k] = v
	}
	body, _ := json.Marshal([]map[string]string{report})
	if got := app.report(t, string(body)); got.status != 200 || labels(t, got)[0] != "true_positive" {
		t.Fatalf("report: %d %s", got.status, got.raw)
	}
	mails := sink.To(t, username+"@example.test")
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	text := mailText(t, mails[0])
	for _, want := range []string{`"phished"`, "revoked it on", " UTC", "/keys/" + id} {
		if !strings.Contains(text, want) {
			t.Errorf("the notice lacks %q:\n%s", want, text)
		}
	}
	for _, part := range append(phishingParts, "unverified", "Reported location", "https://evil") {
		if strings.Contains(text, part) {
			t.Errorf("the notice of an unsigned report carries %q:\n%s", part, text)
		}
	}
	// The audit and the webhook keep the reporter's words for the operator, under
	// "reported" and marked unsigned: never as Keyward's own fields.
	ev := leakedEvent(t, app, id)
	msg, ok := webhooks.Outbox(ev)
	if !ok {
		t.Fatal("key.leaked is not a webhook event")
	}
	var payload struct {
		Data struct {
			Name    string         `json:"name"`
			Details map[string]any `json:"details"`
		} `json:"data"`
	}
	if err := json.Unmarshal(msg.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	d := payload.Data.Details
	reported, _ := d["reported"].(map[string]any)
	if d["report_signed"] != false || reported["url"] != phishing["url"] || reported["source"] != phishing["source"] ||
		d["url"] != nil || d["source"] != nil || d["type"] != nil || payload.Data.Name != "phished" {
		t.Fatalf("key.leaked payload: %s", msg.Payload)
	}
}

func TestLeakNotice_SignedReport_OnlyTheHost_LabelledUnverified(t *testing.T) {
	kc := kctest.Require(t)
	sink := smtpsink.Require(t)
	reporter := newSigningReporter(t)
	settings := mailSettings(t)
	settings["KEYWARD_LEAK_REPORTER_KEYS_FILE"] = reporter.file
	app := startAppWith(t, kc, settings)
	_, username := kc.TempUser(t, "kw-leak-signed-note")
	owner := kc.Login(t, username)

	// One signed report of several keys: one with a good URL, the others with URLs
	// whose host is no DNS name or address (each key's mail says nothing of it).
	urls := map[string]string{
		"good":       "https://GitHub.com/octocat/Hello-World/blob/main/.env?login=evil.example#security-team",
		"underscore": "https://evil_host.example/keyward-login",
		"non-ascii":  "https://gïthub.com/keyward-login",
		"no-scheme":  "evil.example/keyward-login",
		"javascript": "javascript:alert('security team')",
		"numeric":    "https://999.1.1.1/keyward-login",
		"spaces":     "https://log in at evil.example/",
	}
	ids := map[string]string{}
	var reports []map[string]string
	for name, u := range urls {
		id, key := app.createKey(t, owner, "signed-"+name)
		ids[name] = id
		reports = append(reports, map[string]string{"token": key, "url": u, "source": phishing["source"], "type": phishing["type"]})
	}
	body, _ := json.Marshal(reports)
	got := app.report(t, string(body), reporter.headers(string(body))...)
	if got.status != 200 || strings.Count(got.raw, "true_positive") != len(urls) {
		t.Fatalf("signed report: %d %s", got.status, got.raw)
	}
	mails := sink.To(t, username+"@example.test")
	if len(mails) != len(urls) {
		t.Fatalf("%d mails, want %d", len(mails), len(urls))
	}
	seen := map[string]bool{}
	for _, m := range mails {
		text := mailText(t, m)
		name := ""
		for n := range urls {
			if strings.Contains(text, `"signed-`+n+`"`) {
				name = n
			}
		}
		if name == "" || seen[name] {
			t.Fatalf("a mail for no key or twice for one:\n%s", text)
		}
		seen[name] = true
		for _, part := range append(phishingParts, "octocat", "Hello-World", ".env", "blob", "GitHub.com") {
			if strings.Contains(text, part) {
				t.Errorf("%s: the notice carries %q:\n%s", name, part, text)
			}
		}
		hasHost := strings.Contains(text, "Reported location (unverified): github.com\n")
		if name == "good" != hasHost {
			t.Errorf("%s: names the reported host = %v:\n%s", name, hasHost, text)
		}
		if name != "good" && (strings.Contains(text, "Reported location") || strings.Contains(text, "unverified")) {
			t.Errorf("%s: a malformed host was not omitted:\n%s", name, text)
		}
	}
	if ev := leakedEvent(t, app, ids["good"]); !strings.Contains(ev.Details, `"report_signed":true`) {
		t.Fatalf("key.leaked of a signed report: %s", ev.Details)
	}
}
