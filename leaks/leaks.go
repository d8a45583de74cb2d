// Package leaks handles reports of leaked keys from secret scanners (GitHub's secret
// scanning partner format): a reported token that is a live key of this Keyward is
// revoked at once (or disabled, by configuration), its owner is mailed and the audit
// says where it was found (key.leaked). The answer labels each token true_positive or
// false_positive and says nothing else. Reports may be required to carry the
// reporter's ECDSA signature over the body (reporter.go).
//
// A report's words are the reporter's, not Keyward's: the owner's mail carries none
// of them but, from a signed report only, its URL's host labelled unverified; the
// audit keeps them under "reported", marked signed or not.
package leaks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/mail"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// Actions on a leaked key (KEYWARD_LEAK_ACTION).
const (
	ActionRevoke  = "revoke"
	ActionDisable = "disable"
)

// Labels of the answer, as GitHub reads them (the wire's, package api).
const (
	TruePositive  = api.LeakTruePositive
	FalsePositive = api.LeakFalsePositive
)

const (
	disabledBy   = "leak-report" // DisabledBy of a key disabled for a leak: the owner cannot undo it
	reportWindow = time.Minute
)

// DefaultRate is how many reports one client address may send per minute.
const DefaultRate = 60

// ErrRateLimited: the address sent too many reports; RetryAfter says for how long.
var ErrRateLimited = errs.New(errs.Invalid, "too many reports from this address")

// RateLimited is ErrRateLimited with the wait.
type RateLimited struct{ RetryAfter time.Duration }

func (e *RateLimited) Error() string { return ErrRateLimited.Error() }
func (e *RateLimited) Unwrap() error { return ErrRateLimited }

// Report is one entry of a secret scanner's report; Verdict the answer for one entry.
type (
	Report  = api.LeakReport
	Verdict = api.LeakVerdict
)

// Store is what a report reads and changes.
type Store interface {
	KeyForExchange(ctx context.Context, lookupID string) (models.Key, error)
	KeyByID(ctx context.Context, ownerID, id string) (models.Key, error)
	DeleteKey(ctx context.Context, ownerID, id string, at time.Time) error
	UpdateKey(ctx context.Context, ownerID, id string, fn func(k *models.Key) error) (models.Key, error)
}

// Users finds the owner's email.
type Users interface {
	FindUser(ctx context.Context, idOrUsername string) (keycloak.User, error)
}

// Consumers finds a consumer key's consumer's contact address ("" for none).
type Consumers interface {
	ConsumerContact(ctx context.Context, consumerID string) (string, error)
}

// Config wires a Service; Store and Hasher are required.
type Config struct {
	Store     Store
	Hasher    *exchange.Hasher
	Users     Users
	Consumers Consumers   // nil: a consumer key's leak is mailed to nobody
	Mail      mail.Sender // nil: mail is off
	Audit     *audit.Recorder
	Log       *zap.Logger
	Clock     func() time.Time
	Action    string            // ActionRevoke (default) or ActionDisable
	Limiter   ratelimit.Limiter // per client address; nil: no limit
	Rate      int               // reports per minute per address (default DefaultRate)
	Reporters *Reporters        // nil: signatures are not required
	Cache     *exchange.TokenCache
	PublicURL string
}

// Service handles reports.
type Service struct {
	cfg Config
	log *zap.Logger
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Action == "" {
		cfg.Action = ActionRevoke
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, log: cfg.Log.With(zap.String("component", "leak-reports"))}
}

// Admission is what Admit learned of a report: whether a configured reporter signed
// it. Only Admit makes a signed one; the zero Admission is an unsigned report.
type Admission struct{ signed bool }

// Admit decides whether a report from clientIP with this raw body and these headers
// may be handled: the address's rate, then, when reporters are configured, the
// signature. A refusal is ErrRateLimited (*RateLimited) or ErrUnsigned.
func (s *Service) Admit(ctx context.Context, clientIP string, body []byte, keyID, signature string) (Admission, error) {
	if s.cfg.Limiter != nil {
		d, err := s.cfg.Limiter.Allow(ctx, "leak-report:"+ratelimit.AddressKey(clientIP), ratelimit.Limit{Requests: s.cfg.Rate, Window: reportWindow})
		if err != nil {
			return Admission{}, fmt.Errorf("leak reports: rate limit: %w", err)
		}
		if !d.Allowed {
			return Admission{}, &RateLimited{RetryAfter: d.RetryAfter}
		}
	}
	if s.cfg.Reporters == nil {
		return Admission{}, nil
	}
	if err := s.cfg.Reporters.Verify(body, keyID, signature); err != nil {
		return Admission{}, err
	}
	return Admission{signed: true}, nil
}

// Check refuses a report that is not in the format, naming the entry and field.
func Check(reports []Report) error {
	verr := &errs.Validation{}
	if len(reports) == 0 {
		verr.Add("body", "must be a JSON array of at least one report")
	}
	if len(reports) > api.LeakReportsMax {
		verr.Add("body", fmt.Sprintf("must hold at most %d reports", api.LeakReportsMax))
		return verr.Err()
	}
	for i, r := range reports {
		field := func(name string) string { return fmt.Sprintf("[%d].%s", i, name) }
		if r.Token == "" {
			verr.Add(field("token"), "is required")
		}
		for _, f := range []struct {
			name, v string
			max     int
		}{{"token", r.Token, api.LeakTokenMax}, {"type", r.Type, api.LeakFieldMax}, {"url", r.URL, api.LeakURLMax}, {"source", r.Source, api.LeakFieldMax}} {
			// Characters, as the document's maxLength counts them (the body is bounded anyway).
			if utf8.RuneCountInString(f.v) > f.max {
				verr.Add(field(f.name), fmt.Sprintf("must be at most %d characters", f.max))
			} else if why := safetext.Problem(f.v, false); why != "" {
				verr.Add(field(f.name), why)
			}
		}
	}
	return verr.Err()
}

// Handle labels each report and acts on the live keys among them; adm is what Admit
// said of the body they came in. It answers every report, in order; an error means
// the store could not be read, and nothing after the failing report was done.
func (s *Service) Handle(ctx context.Context, a audit.Actor, adm Admission, reports []Report) ([]Verdict, error) {
	out := make([]Verdict, 0, len(reports))
	for _, r := range reports {
		live, err := s.handleOne(ctx, a, adm, r)
		if err != nil {
			return nil, err
		}
		label := FalsePositive
		if live {
			label = TruePositive
		}
		out = append(out, Verdict{TokenRaw: r.Token, TokenType: r.Type, Label: label})
	}
	return out, nil
}

// handleOne says whether r.Token is a live key of this Keyward (revoked, unknown,
// garbage: no), and acts on it when it is. A key revoked by an earlier report (a
// replay) is no longer live: false_positive, like any unknown token, so the answer
// tells a reporter nothing it did not know.
func (s *Service) handleOne(ctx context.Context, a audit.Actor, adm Admission, r Report) (bool, error) {
	parsed, err := exchange.ParseKey(r.Token)
	if err != nil {
		return false, nil // not our format, or the checksum fails: no look-up
	}
	found, err := s.cfg.Store.KeyForExchange(ctx, parsed.LookupID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("leak report: look up key: %w", err)
	}
	if !s.cfg.Hasher.Matches(parsed.Secret, found.SecretHash) || !parsed.SameEnv(found.Environment) {
		return false, nil // the right id with a wrong secret is no leak of this key
	}
	key, err := s.cfg.Store.KeyByID(ctx, "", found.ID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil // revoked meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("leak report: read key: %w", err)
	}
	at := s.cfg.Clock()
	acted, err := s.act(ctx, key, at)
	if err != nil {
		return false, err
	}
	if !acted {
		return true, nil // already done by an earlier report: nothing more to say or send
	}
	// No cache to drop: the exchange reads the key's state before its token cache.
	// The reporter's words go to the audit (and so to webhooks) for the operator, under
	// "reported" and marked signed or not: never as if Keyward had said them.
	// The reported key is this key (same lookup id and environment): its prefix is this key's.
	prefix := parsed.Prefix()
	details := map[string]any{"action": s.cfg.Action, "name": key.Name, "prefix": prefix,
		"report_signed": adm.signed, "reported": map[string]any{"url": r.URL, "source": r.Source, "type": r.Type}}
	s.cfg.Audit.Record(ctx, a, "key.leaked", "key", key.ID, key.OwnerID, details)
	follow := map[string]string{ActionRevoke: "key.delete", ActionDisable: "key.disable"}[s.cfg.Action]
	s.cfg.Audit.Record(ctx, a, follow, "key", key.ID, key.OwnerID, map[string]any{
		"reason": "reported leaked", "name": key.Name, "prefix": prefix})
	s.log.Warn("leaked key reported and "+map[string]string{ActionRevoke: "revoked", ActionDisable: "disabled"}[s.cfg.Action],
		zap.String("key_id", key.ID), zap.Bool("report_signed", adm.signed),
		zap.String("reported_source", r.Source), zap.String("reported_url", r.URL))
	leak := mail.Leak{Action: s.cfg.Action, At: at}
	if adm.signed {
		leak.ReportedHost = reportedHost(r.URL)
	}
	s.notify(ctx, key, prefix, leak)
	return true, nil
}

// act revokes or disables key and says whether this call changed it.
func (s *Service) act(ctx context.Context, key models.Key, now time.Time) (bool, error) {
	if s.cfg.Action == ActionDisable {
		changed := false
		_, err := s.cfg.Store.UpdateKey(ctx, "", key.ID, func(k *models.Key) error {
			changed = k.Enabled || k.DisabledBy != disabledBy
			k.Enabled, k.DisabledBy = false, disabledBy
			return nil
		})
		if errors.Is(err, models.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("leak report: disable key: %w", err)
		}
		return changed, nil
	}
	err := s.cfg.Store.DeleteKey(ctx, "", key.ID, now)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil // a concurrent report revoked it
	}
	if err != nil {
		return false, fmt.Errorf("leak report: revoke key: %w", err)
	}
	return true, nil
}

// notify mails the owner; a failure is logged (the key is already safe).
func (s *Service) notify(ctx context.Context, key models.Key, prefix string, leak mail.Leak) {
	if s.cfg.Mail == nil {
		return
	}
	log := s.log.With(zap.String("key_id", key.ID))
	to, err := s.ownerEmail(ctx, key)
	if err != nil || to == "" {
		log.Warn("leaked key: owner not mailed (no email found)", zap.Error(err))
		return
	}
	info := mail.KeyInfo{ID: key.ID, Name: key.Name, Prefix: prefix, ConsoleURL: s.cfg.PublicURL + "/keys/" + key.ID}
	if key.ExpiresAt != nil {
		info.ExpiresAt = *key.ExpiresAt
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.cfg.Mail.Send(mctx, mail.LeakNotice(to, info, leak)); err != nil {
		log.Warn("leaked key: owner not mailed", zap.Error(err))
	}
}

// maxHostLen bounds a reported host: a DNS name's limit.
const maxHostLen = 253

// reportedHost is the host of a report's http(s) URL, lower case, when it is an IP
// address or a DNS name in ASCII letters, digits and hyphens; "" otherwise. The path,
// the query, the user part and the port are never used.
func reportedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	h := u.Hostname()
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return ""
		}
		return ip.String()
	}
	h = strings.TrimSuffix(h, ".")
	if len(h) == 0 || len(h) > maxHostLen {
		return ""
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return ""
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return ""
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "" // all digits: an address that did not parse (999.1.1.1), not a name
	}
	return strings.ToLower(h)
}

// ownerEmail is where a key's leak notice goes: its owner's email in Keycloak, or a
// consumer key's consumer's contact address.
func (s *Service) ownerEmail(ctx context.Context, key models.Key) (string, error) {
	if key.OwnerType == models.OwnerConsumer {
		if s.cfg.Consumers == nil {
			return "", nil
		}
		return s.cfg.Consumers.ConsumerContact(ctx, key.ConsumerID)
	}
	if s.cfg.Users == nil {
		return "", nil
	}
	u, err := s.cfg.Users.FindUser(ctx, key.OwnerID)
	return u.Email, err
}
