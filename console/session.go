package console

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/reqinfo"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

const (
	// The cookies' names on http; on https they carry the __Host- prefix (cookieName).
	sessionCookie = "kw_session"
	loginCookie   = "kw_login"
	callbackPath  = "/auth/callback"
	loginTimeout  = 10 * time.Minute
	// refreshMargin: an access token with less than this left is refreshed first.
	refreshMargin = 30 * time.Second
)

// viewer is the person a page is for: who their current access token says they are.
type viewer struct {
	Subject  string
	Username string
	Admin    bool
	CSRF     string

	idHash string
}

type loginState struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Next     string `json:"next"`
}

type sessionTokens struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
	ID      string `json:"id"`
}

type userHandler func(w http.ResponseWriter, r *http.Request, u *viewer)

// user lets a logged-in person through (a GET without a session goes to the login,
// anything else is refused) and checks the CSRF token of every POST.
func (c *Console) user(h userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := c.session(w, r)
		if err != nil {
			c.serviceError(w, r, nil, err)
			return
		}
		if u == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, http.StatusUnauthorized, "Your session has ended. Log in again, then repeat what you did.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !c.cfg.Secrets.csrfValid(c.cookie(r, sessionCookie), r.PostFormValue("csrf")) {
				c.fail(w, r, u, http.StatusForbidden, "The form's security token is missing or wrong (CSRF protection). Reload the page and try again.")
				return
			}
		}
		h(w, r, u)
	}
}

// admin is user for the admin role.
func (c *Console) admin(h userHandler) http.HandlerFunc {
	return c.user(func(w http.ResponseWriter, r *http.Request, u *viewer) {
		if !u.Admin {
			c.fail(w, r, u, http.StatusForbidden, "This page is for Keyward admins (realm role "+c.cfg.AdminRole+").")
			return
		}
		if c.cfg.Provisioning == nil {
			c.fail(w, r, u, http.StatusServiceUnavailable, "Provisioning is not configured on this instance.")
			return
		}
		h(w, r, u)
	})
}

// session loads the request's session: nil when there is none, it timed out, or
// Keycloak no longer refreshes it (the user was disabled or logged out there).
func (c *Console) session(w http.ResponseWriter, r *http.Request) (*viewer, error) {
	sid := c.cookie(r, sessionCookie)
	if sid == "" {
		return nil, nil
	}
	ctx := r.Context()
	idHash := hashID(sid)
	cs, err := c.cfg.Sessions.ConsoleSessionByHash(ctx, idHash)
	if errors.Is(err, models.ErrNotFound) {
		c.clearCookie(w, sessionCookie)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := c.cfg.Clock().UTC()
	end := func() (*viewer, error) {
		c.clearCookie(w, sessionCookie)
		return nil, c.cfg.Sessions.DeleteConsoleSession(context.WithoutCancel(ctx), idHash)
	}
	if cs.Pending || !now.Before(cs.ExpiresAt) || now.Sub(cs.LastSeenAt) >= c.cfg.SessionIdle {
		return end()
	}
	plain, err := c.cfg.Secrets.openFor(idHash, cs.Tokens)
	var toks sessionTokens
	if err != nil || json.Unmarshal(plain, &toks) != nil {
		c.cfg.Log.Warn("console: a session's tokens do not open; ending it")
		return end()
	}
	changed := false
	if now.Add(refreshMargin).After(cs.AccessExpiresAt) || now.Sub(cs.RefreshedAt) >= c.cfg.RefreshEvery {
		fresh, err := c.cfg.OIDC.Refresh(ctx, toks.Refresh)
		switch {
		case errors.Is(err, keycloak.ErrInvalidGrant):
			return end() // disabled, logged out or session gone at Keycloak
		case err != nil:
			return nil, err
		}
		toks.Access = fresh.AccessToken
		if fresh.RefreshToken != "" {
			toks.Refresh = fresh.RefreshToken
		}
		if fresh.IDToken != "" {
			toks.ID = fresh.IDToken
		}
		cs.AccessExpiresAt = now.Add(time.Duration(fresh.ExpiresIn) * time.Second)
		cs.RefreshedAt = now
		changed = true
	}
	claims, err := c.cfg.Verifier.Verify(ctx, toks.Access)
	if errors.Is(err, keycloak.ErrUnavailable) {
		return nil, err
	}
	if err != nil || claims.Subject != cs.Subject {
		return end()
	}
	if changed {
		if cs.Tokens, err = c.sealTokens(idHash, toks); err != nil {
			return nil, err
		}
	}
	if changed || now.Sub(cs.LastSeenAt) >= 10*time.Second {
		cs.LastSeenAt = now
		if err := c.cfg.Sessions.UpdateConsoleSession(ctx, &cs); err != nil {
			return nil, err
		}
	}
	return &viewer{Subject: claims.Subject, Username: claims.Username, Admin: claims.HasRealmRole(c.cfg.AdminRole),
		CSRF: c.cfg.Secrets.csrfToken(sid), idHash: idHash}, nil
}

func (c *Console) sealTokens(idHash string, t sessionTokens) ([]byte, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	return c.cfg.Secrets.sealFor(idHash, b)
}

// cookieName is the name a console cookie has on the wire. On https it carries the
// __Host- prefix: browsers then keep only a Secure, Path=/ cookie without Domain that
// this very host set, so a sibling subdomain cannot plant or fix a session.
func (c *Console) cookieName(name string) string {
	if c.secure {
		return "__Host-" + name
	}
	return name
}

// cookie is the value of a console cookie, "" when missing or longer than an id.
// Only the name cookieName gives is read: on https an unprefixed one is ignored.
func (c *Console) cookie(r *http.Request, name string) string {
	ck, err := r.Cookie(c.cookieName(name))
	if err != nil || len(ck.Value) > 128 {
		return ""
	}
	return ck.Value
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(name), Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

func (c *Console) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(name), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

// defaultNext is where a login ends when it names no acceptable page.
const defaultNext = "/keys"

// safeNext keeps a return path only when it is a path of this console (localNext);
// anything else becomes the key list.
func safeNext(next string) string {
	if !localNext(next) {
		return defaultNext
	}
	return next
}

// localNext tells whether next, sent as a Location, keeps the browser on this site.
// Browsers drop tabs and newlines anywhere in a URL, strip leading spaces, read `\` as
// `/` and may fold look-alike slashes: so next is printable ASCII without `\`, raw or
// percent-encoded; its path starts with exactly one `/`, is clean, and holds no
// encoded `/`, `.` or non-ASCII byte (the console would decode them into another path).
func localNext(next string) bool {
	if len(next) < 1 || len(next) > 1024 || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return false
	}
	pathPart, rest := next, ""
	if i := strings.IndexAny(next, "?#"); i >= 0 {
		pathPart, rest = next[:i], next[i:]
	}
	if !cleanEncoding(pathPart, true) || !cleanEncoding(rest, false) {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// http.Redirect cleans the path: a path that cleaning changes (`/a/../x`, `/a//b`)
	// is refused rather than followed somewhere else.
	if cleaned := path.Clean(pathPart); cleaned != pathPart && cleaned+"/" != pathPart {
		return false
	}
	decoded, err := url.PathUnescape(pathPart)
	if err != nil {
		return false
	}
	return !strings.HasPrefix(decoded, "/login") && !strings.HasPrefix(decoded, callbackPath)
}

// cleanEncoding accepts only printable ASCII other than `\`, and percent escapes of
// the same; in a path also no escaped `/`, `.` or non-ASCII byte (the console would
// decode them into a different path, and look-alike slashes hide among the latter).
func cleanEncoding(s string, inPath bool) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			b = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
			if b < 0x20 || b == 0x7f || b == '\\' || (inPath && (b >= 0x80 || b == '/' || b == '.')) {
				return false
			}
			continue
		}
		if b <= 0x20 || b >= 0x7f || b == '\\' {
			return false
		}
	}
	return true
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

func unhex(b byte) byte {
	switch {
	case b <= '9':
		return b - '0'
	case b >= 'a':
		return b - 'a' + 10
	default:
		return b - 'A' + 10
	}
}

// login starts the code flow: a pending login row holds state, nonce and the PKCE
// verifier (sealed); the browser keeps only the row's opaque id.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.loginThrottled(w, r) {
		return
	}
	var ls loginState
	var id string
	for _, dst := range []*string{&id, &ls.State, &ls.Nonce, &ls.Verifier} {
		v, err := newID()
		if err != nil {
			c.serviceError(w, r, nil, err)
			return
		}
		*dst = v
	}
	ls.Next = safeNext(r.URL.Query().Get("next"))
	now := c.cfg.Clock().UTC()
	idHash := hashID(id)
	plain, _ := json.Marshal(ls)
	sealed, err := c.cfg.Secrets.sealFor(idHash, plain)
	if err != nil {
		c.serviceError(w, r, nil, err)
		return
	}
	err = c.cfg.Sessions.CreateConsoleSession(r.Context(), &models.ConsoleSession{IDHash: idHash, Pending: true, LoginState: sealed,
		CreatedAt: now, LastSeenAt: now, RefreshedAt: now, AccessExpiresAt: now, ExpiresAt: now.Add(loginTimeout)})
	if err != nil {
		c.serviceError(w, r, nil, err)
		return
	}
	c.setCookie(w, loginCookie, id, loginTimeout)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, c.cfg.OIDC.AuthCodeURL(keycloak.AuthRequest{
		RedirectURI: c.cfg.URL + callbackPath, State: ls.State, Nonce: ls.Nonce, CodeChallenge: pkceChallenge(ls.Verifier),
	}), http.StatusSeeOther)
}

// loginThrottled answers 429 when the client address has started LoginRate logins
// in the last minute; like the exchange's limit, a failing limiter refuses (503).
func (c *Console) loginThrottled(w http.ResponseWriter, r *http.Request) bool {
	if c.cfg.LoginLimiter == nil || c.cfg.LoginRate <= 0 {
		return false
	}
	ip := reqinfo.From(r.Context()).ClientIP
	d, err := c.cfg.LoginLimiter.Allow(r.Context(), "console-login:"+ratelimit.AddressKey(ip), ratelimit.Limit{Requests: c.cfg.LoginRate, Window: time.Minute})
	if err != nil {
		c.serviceError(w, r, nil, fmt.Errorf("%w: %w", errs.New(errs.Unavailable, "Logins cannot be started just now; try again shortly."), err))
		return true
	}
	if d.Allowed {
		return false
	}
	wait := int(math.Ceil(d.RetryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(wait))
	unit := "seconds"
	if wait == 1 {
		unit = "second"
	}
	c.fail(w, r, nil, http.StatusTooManyRequests,
		fmt.Sprintf("Too many logins were started from your address. Try again in %d %s.", wait, unit))
	return true
}

// callback finishes the code flow: the pending login is used up whatever happens, the
// state must match, the code is redeemed with the verifier, the ID token must carry
// the login's nonce, and the access token must be a person's, meant for Keyward. Then
// a new session id is made (never one the browser had before).
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	ls, msg, err := c.takeLogin(w, r)
	if err == nil && msg == "" {
		var toks keycloak.Tokens
		var claims keycloak.Claims
		toks, claims, msg, err = c.loginTokens(ctx, r.URL.Query(), ls)
		if err == nil && msg == "" {
			err = c.startSession(w, r, toks, claims)
		}
	}
	if errors.Is(err, errNotAPerson) {
		return // answered
	}
	if err != nil {
		c.serviceError(w, r, nil, err)
		return
	}
	if msg != "" {
		c.render(w, r, nil, http.StatusBadRequest, "login-failed.html", "Login failed", map[string]any{"Message": msg})
		return
	}
	// Checked again, though sealed: a value stored before a stricter check must not pass.
	http.Redirect(w, r, safeNext(ls.Next), http.StatusSeeOther)
}

// errNotAPerson: startSession has answered 403 itself.
var errNotAPerson = errors.New("console: not a person")

// takeLogin ends the pending login this browser started (its cookie and stored state,
// usable once) and returns its state. msg says why the login cannot go on.
func (c *Console) takeLogin(w http.ResponseWriter, r *http.Request) (ls loginState, msg string, err error) {
	ctx := r.Context()
	loginID := c.cookie(r, loginCookie)
	if loginID == "" {
		return ls, "This login was not started here, or took longer than 10 minutes.", nil
	}
	c.clearCookie(w, loginCookie)
	idHash := hashID(loginID)
	pending, err := c.cfg.Sessions.ConsoleSessionByHash(ctx, idHash)
	if errors.Is(err, models.ErrNotFound) || (err == nil && !pending.Pending) {
		return ls, "This login was already used or has expired.", nil
	}
	if err != nil {
		return ls, "", err
	}
	if err := c.cfg.Sessions.DeleteConsoleSession(ctx, idHash); err != nil {
		return ls, "", err
	}
	plain, err := c.cfg.Secrets.openFor(idHash, pending.LoginState)
	if err != nil || json.Unmarshal(plain, &ls) != nil || !c.cfg.Clock().Before(pending.ExpiresAt) {
		return ls, "This login has expired.", nil
	}
	return ls, "", nil
}

// loginTokens checks Keycloak's answer q against the login's state and trades its code
// for tokens whose ID and access token agree on the user. msg says why not.
func (c *Console) loginTokens(ctx context.Context, q url.Values, ls loginState) (toks keycloak.Tokens, claims keycloak.Claims, msg string, err error) {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(ls.State)) != 1 {
		return toks, claims, "The login answer does not belong to this login (state mismatch).", nil
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		return toks, claims, "Keycloak did not log you in.", nil
	}
	toks, err = c.cfg.OIDC.Exchange(ctx, q.Get("code"), ls.Verifier, c.cfg.URL+callbackPath)
	if errors.Is(err, keycloak.ErrInvalidGrant) {
		return toks, claims, "Keycloak refused the login code.", nil
	}
	if err != nil {
		return toks, claims, "", err
	}
	id, err := c.cfg.OIDC.VerifyIDToken(ctx, toks.IDToken, ls.Nonce)
	if err != nil {
		c.cfg.Log.Warn("console: login refused: ID token", zap.String("request_id", reqinfo.From(ctx).RequestID), zap.Error(err))
		return toks, claims, "The ID token of this login is not valid.", nil
	}
	claims, err = c.cfg.Verifier.Verify(ctx, toks.AccessToken)
	if errors.Is(err, keycloak.ErrUnavailable) {
		return toks, claims, "", err
	}
	if err != nil || claims.Subject != id.Subject {
		return toks, claims, "The access token of this login is not meant for Keyward.", nil
	}
	return toks, claims, "", nil
}

// startSession opens the console session of a person's login (replacing the browser's
// old one) and sets its cookie; anyone else gets the 403 page and errNotAPerson.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, toks keycloak.Tokens, claims keycloak.Claims) error {
	ctx := r.Context()
	if msg, err := c.notAPerson(ctx, claims); err != nil {
		return err
	} else if msg != "" {
		c.fail(w, r, nil, http.StatusForbidden, msg)
		return errNotAPerson
	}
	if old := c.cookie(r, sessionCookie); old != "" {
		_ = c.cfg.Sessions.DeleteConsoleSession(ctx, hashID(old))
	}
	sid, err := newID()
	if err != nil {
		return err
	}
	sidHash := hashID(sid)
	sealed, err := c.sealTokens(sidHash, sessionTokens{Access: toks.AccessToken, Refresh: toks.RefreshToken, ID: toks.IDToken})
	if err != nil {
		return err
	}
	now := c.cfg.Clock().UTC()
	err = c.cfg.Sessions.CreateConsoleSession(ctx, &models.ConsoleSession{IDHash: sidHash, Subject: claims.Subject, Username: claims.Username,
		Tokens: sealed, AccessExpiresAt: now.Add(time.Duration(toks.ExpiresIn) * time.Second), RefreshedAt: now,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(c.cfg.SessionMax)})
	if err != nil {
		return err
	}
	c.setCookie(w, sessionCookie, sid, c.cfg.SessionMax)
	return nil
}

// notAPerson says why a token may not have a console session: one minted for an API
// key, or a service account's (the console, like the API, is for people).
func (c *Console) notAPerson(ctx context.Context, claims keycloak.Claims) (string, error) {
	const msg = "Service accounts and API-key tokens cannot use the console: it is for people."
	if claims.ClientCredentials || slices.Contains(c.cfg.KeyTokenClients, claims.AuthParty) {
		return msg, nil
	}
	if c.cfg.Principals == nil {
		return "", nil
	}
	sa, err := c.cfg.Principals.IsServiceAccount(ctx, claims.Subject, claims.Username)
	if err != nil || !sa {
		return "", err
	}
	return msg, nil
}

// logout ends the session here and at Keycloak (server side, then the browser's
// RP-initiated logout, which also clears Keycloak's cookies).
func (c *Console) logout(w http.ResponseWriter, r *http.Request, u *viewer) {
	ctx := r.Context()
	hint := ""
	if cs, err := c.cfg.Sessions.ConsoleSessionByHash(ctx, u.idHash); err == nil {
		if plain, err := c.cfg.Secrets.openFor(u.idHash, cs.Tokens); err == nil {
			var toks sessionTokens
			if json.Unmarshal(plain, &toks) == nil {
				hint = toks.ID
				if err := c.cfg.OIDC.Logout(ctx, toks.Refresh); err != nil {
					c.cfg.Log.Warn("console: Keycloak logout failed", zap.String("request_id", reqinfo.From(ctx).RequestID), zap.Error(err))
				}
			}
		}
	}
	if err := c.cfg.Sessions.DeleteConsoleSession(ctx, u.idHash); err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.clearCookie(w, sessionCookie)
	http.Redirect(w, r, c.cfg.OIDC.EndSessionURL(hint, c.cfg.URL+"/logged-out"), http.StatusSeeOther)
}

func (c *Console) loggedOut(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, nil, http.StatusOK, "logged-out.html", "Logged out", nil)
}
