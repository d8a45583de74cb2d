package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

// keyView is a key as the pages show it: never its hash, never its secret.
type keyView struct {
	ID, Name, Prefix, Status, Environment, OwnerUsername, LastUsedIP string
	// Texts are the key's text fields (keyTexts) that the page lists among its facts.
	Texts                             []keyFact
	Scopes, IPAllowlist               []string
	Metadata, RateLimit, DisabledBy   string
	Enabled                           bool
	CreatedAt                         time.Time
	ExpiresAt, LastUsedAt, GraceUntil *time.Time
	RotatedTo                         string
	Roles                             []string // nil: not limited
	// ConsumerID and ConsumerName: a consumer's key (consumerkeys.go); "" for a user's.
	ConsumerID, ConsumerName string
}

func (c *Console) keyView(k keys.Key) keyView {
	limit := "unlimited"
	if !k.RateLimit.Unlimited {
		limit = strconv.Itoa(k.RateLimit.Requests) + " requests per " + strconv.Itoa(k.RateLimit.WindowSeconds) + " s"
	}
	v := keyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Status: string(k.Status),
		Environment: k.Environment, OwnerUsername: k.OwnerUsername, LastUsedIP: k.LastUsedIP, Scopes: k.Scopes,
		IPAllowlist: k.IPAllowlist, Metadata: string(k.Metadata), RateLimit: limit, DisabledBy: k.AdminSet.Disabled, Enabled: k.Enabled,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, GraceUntil: k.GraceUntil, Roles: k.Roles}
	if v.Metadata == "{}" {
		v.Metadata = ""
	}
	for _, t := range keyTexts {
		if t.fact {
			v.Texts = append(v.Texts, keyFact{Label: t.label, Value: t.value(k)})
		}
	}
	if k.RotatedTo != nil {
		v.RotatedTo = *k.RotatedTo
	}
	if k.Consumer != nil {
		v.ConsumerID, v.ConsumerName = k.Consumer.ID, k.Consumer.Name
	}
	return v
}

// keyText is a text field of a key as the console shows it and edits it in both forms:
// the request's name for it (and its inputs'), its label, whether the key's page lists
// it among the facts (the name is the page's title), where the key and the forms hold
// it. Its bounds are api's rules. A text field added to a key takes an entry here (and
// a field in keyForm and editForm); the pages and the requests follow.
type keyText struct {
	field, label string
	fact         bool
	value        func(keys.Key) string
	create       func(*keyForm) *string
	edit         func(*editForm) *string
}

var keyTexts = []keyText{
	{field: "name", label: "Name", value: func(k keys.Key) string { return k.Name },
		create: func(f *keyForm) *string { return &f.Name }, edit: func(f *editForm) *string { return &f.Name }},
	{field: "description", label: "Description", fact: true, value: func(k keys.Key) string { return k.Description },
		create: func(f *keyForm) *string { return &f.Description }, edit: func(f *editForm) *string { return &f.Description }},
}

// keyFact is a text field as the key's page shows it; an empty one is left out.
type keyFact struct{ Label, Value string }

// textInput is a text field as a form renders it (_keyfields.html, "key-texts"):
// an input, or a textarea for text that may hold line breaks.
type textInput struct {
	Field, Label, Value, Error string
	Multiline, Required        bool
	MaxLen                     int
}

// textInputs are the form's text fields with the values held by the form (at).
func textInputs(at func(keyText) *string, errors map[string]string) []textInput {
	rules := api.KeyCreate{}.Rules()
	out := make([]textInput, 0, len(keyTexts))
	for _, t := range keyTexts {
		r := rules[t.field]
		out = append(out, textInput{Field: t.field, Label: t.label, Value: *at(t), Error: errors[t.field],
			Multiline: r.Safe == api.SafeMultiline, Required: r.MinLen > 0, MaxLen: r.MaxLen})
	}
	return out
}

// setTexts sets the request fields (by their JSON names) of texts in *request, an
// api.KeyCreate or api.KeyUpdate: an update's fields not in texts stay nil.
func setTexts(request any, texts map[string]string) {
	b, _ := json.Marshal(texts)
	_ = json.Unmarshal(b, request) // strings into string fields: cannot fail
}

// listQuery is the list's search, filters, sort and page, as the query string has them.
type listQuery struct {
	Owner, Q, Status, Environment, Expires, Sort, Order, Cursor string
	Consumer                                                    string // admins: a consumer's keys
}

type keyList struct {
	Query  listQuery
	Items  []keyView
	Next   string
	Errors map[string]string
	All    bool // the admins' list of every owner's keys
	// FirstRun: the user's own list is empty with no filter set, so they have no key
	// yet; the page says what a key is for and how to get one instead of "No keys".
	FirstRun bool
}

func (c *Console) listKeys(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.keyListPage(w, r, u, false)
}

func (c *Console) listAllKeys(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.keyListPage(w, r, u, true)
}

func (c *Console) keyListPage(w http.ResponseWriter, r *http.Request, u *viewer, all bool) {
	q := r.URL.Query()
	lq := listQuery{Owner: q.Get("owner"), Q: q.Get("q"), Status: q.Get("status"), Environment: q.Get("environment"),
		Expires: q.Get("expires"), Sort: q.Get("sort"), Order: q.Get("order"), Cursor: q.Get("cursor")}
	owner, consumer := u.Subject, ""
	if all {
		owner, consumer, lq.Consumer = lq.Owner, q.Get("consumer"), q.Get("consumer")
	}
	data := keyList{Query: lq, All: all}
	page, err := c.cfg.Keys.List(r.Context(), actor(r, u), keys.ListParams{Owner: owner, Consumer: consumer, Query: lq.Q, Status: lq.Status,
		Environment: lq.Environment, Expires: lq.Expires, Sort: lq.Sort, Order: lq.Order, Cursor: lq.Cursor, Limit: 20})
	if fe, ok := fieldErrors(err); ok {
		data.Errors = fe
	} else if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	for _, k := range page.Items {
		data.Items = append(data.Items, c.keyView(k))
	}
	data.Next = page.NextCursor
	data.FirstRun = !all && len(data.Items) == 0 && data.Errors == nil &&
		lq.Q == "" && lq.Status == "" && lq.Environment == "" && lq.Expires == "" && lq.Cursor == ""
	title := "API keys"
	if all {
		title = "All keys"
	}
	c.render(w, r, u, http.StatusOK, "keys.html", title, data)
}

// keyForm is the create form as the user filled it in.
type keyForm struct {
	Owner, Name, Description, Environment, Expiry, ExpiresOn, Scopes string
	RateRequests, RateWindow, IPAllowlist, Metadata                  string
	Errors                                                           map[string]string
	// Roles are those checked; Offered the viewer's roles a key may be limited to.
	Roles, Offered []string
}

// TextInputs are the form's text fields, for the template.
func (f keyForm) TextInputs() []textInput {
	return textInputs(func(t keyText) *string { return t.create(&f) }, f.Errors)
}

func (c *Console) newKey(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.keyFormPage(w, r, u, http.StatusOK, keyForm{Environment: "production", Expiry: "365"})
}

// keyFormPage renders the create form with the roles the viewer may offer a key.
func (c *Console) keyFormPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, f keyForm) {
	offered, err := c.cfg.Keys.LimitableRoles(r.Context(), actor(r, u))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	f.Offered = offered
	c.render(w, r, u, status, "key-new.html", "Create key", f)
}

// params turns the form into the service's create request; problems the form alone
// can see (a number that is not one) are reported with the service's.
func (f keyForm) params() (keys.CreateParams, map[string]string) {
	p := keys.CreateParams{Owner: strings.TrimSpace(f.Owner), Environment: f.Environment,
		Scopes: strings.Fields(f.Scopes), IPAllowlist: splitList(f.IPAllowlist), Roles: f.Roles}
	texts := map[string]string{}
	for _, t := range keyTexts {
		texts[t.field] = *t.create(&f)
	}
	setTexts(&p, texts)
	bad := map[string]string{}
	switch f.Expiry {
	case "never":
		t := true
		p.NeverExpires = &t
	case "date":
		at := f.ExpiresOn
		if d, err := time.Parse(time.DateOnly, f.ExpiresOn); err == nil {
			at = d.Format(time.RFC3339)
		} else if f.ExpiresOn == "" {
			bad["expires_at"] = "give the date the key expires"
		}
		p.ExpiresAt = &at
	default:
		n, err := strconv.Atoi(f.Expiry)
		if err != nil {
			bad["expires_in_days"] = "choose 30, 90 or 365 days, a date, or never"
		}
		p.ExpiresInDays = &n
	}
	if f.RateRequests != "" || f.RateWindow != "" {
		req, err1 := strconv.Atoi(strings.TrimSpace(f.RateRequests))
		win, err2 := strconv.Atoi(strings.TrimSpace(f.RateWindow))
		if err1 != nil || err2 != nil {
			bad["rate_limit"] = "give whole numbers of requests and seconds, or leave both empty for the default"
		}
		p.RateLimit = &keys.RateLimit{Requests: req, WindowSeconds: win}
	}
	if strings.TrimSpace(f.Metadata) != "" {
		p.Metadata = json.RawMessage(f.Metadata)
	}
	return p, bad
}

func (c *Console) createKey(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := keyForm{Owner: r.PostFormValue("owner"), Environment: r.PostFormValue("environment"), Expiry: r.PostFormValue("expiry"), ExpiresOn: r.PostFormValue("expires_on"),
		Scopes: r.PostFormValue("scopes"), RateRequests: r.PostFormValue("rate_requests"), RateWindow: r.PostFormValue("rate_window"),
		IPAllowlist: r.PostFormValue("ip_allowlist"), Metadata: r.PostFormValue("metadata"), Roles: r.PostForm["roles"]}
	for _, t := range keyTexts {
		*t.create(&f) = r.PostFormValue(t.field)
	}
	if !u.Admin {
		f.Owner = ""
	}
	p, bad := f.params()
	if len(bad) > 0 {
		f.Errors = bad
		c.keyFormPage(w, r, u, http.StatusBadRequest, f)
		return
	}
	created, err := c.cfg.Keys.Create(r.Context(), actor(r, u), p)
	if fe, ok := fieldErrors(err); ok {
		f.Errors = fe
		c.keyFormPage(w, r, u, http.StatusBadRequest, f)
		return
	}
	if errs.KindOf(err) == errs.Conflict || errs.KindOf(err) == errs.Forbidden {
		f.Errors = map[string]string{"form": errs.MessageOf(err)}
		c.keyFormPage(w, r, u, http.StatusConflict, f)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.showKey(w, r, u, "Your new key", created)
}

// showKey is the one page that ever shows a key's text: the answer to the POST that
// made it, never stored by the browser (no-store), never reachable by a URL.
func (c *Console) showKey(w http.ResponseWriter, r *http.Request, u *viewer, title string, created keys.Created) {
	c.render(w, r, u, http.StatusOK, "key-created.html", title, map[string]any{
		"Key": c.keyView(created.Key), "Secret": created.Plaintext, "KeywardURL": c.cfg.KeywardURL})
}

type keyDetail struct {
	Key        keyView
	Chart      any
	Usage      keys.UsageReport
	Events     []models.AuditEvent
	KeywardURL string
	Errors     map[string]string
	GraceDays  string
}

func (c *Console) keyDetail(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.keyDetailPage(w, r, u, http.StatusOK, "7", nil)
}

func (c *Console) keyDetailPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, grace string, problems map[string]string) {
	ctx := r.Context()
	a := actor(r, u)
	k, err := c.cfg.Keys.Get(ctx, a, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	usage, err := c.cfg.Keys.Usage(ctx, a, k.ID, 30)
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	events, err := c.cfg.Audit.List(ctx, a, audit.Filter{Key: k.ID, Limit: 20})
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, status, "key.html", "Key "+k.Name, keyDetail{Key: c.keyView(k), Chart: usageChart(usage.Days), Usage: usage,
		Events: events.Events, KeywardURL: c.cfg.KeywardURL, Errors: problems, GraceDays: grace})
}

func (c *Console) rotateKey(w http.ResponseWriter, r *http.Request, u *viewer) {
	grace := strings.TrimSpace(r.PostFormValue("grace_days"))
	days, err := strconv.Atoi(grace)
	if err != nil || days < 0 || days > api.KeyGraceHoursMax/24 {
		c.keyDetailPage(w, r, u, http.StatusBadRequest, grace, map[string]string{"grace": "give whole days between 0 and 30"})
		return
	}
	hours := days * 24
	created, err := c.cfg.Keys.Rotate(r.Context(), actor(r, u), r.PathValue("id"), &hours)
	if fe, ok := fieldErrors(err); ok {
		c.keyDetailPage(w, r, u, http.StatusBadRequest, grace, map[string]string{"grace": fe["grace_period_hours"]})
		return
	}
	if errs.KindOf(err) == errs.Conflict {
		c.keyDetailPage(w, r, u, http.StatusConflict, grace, map[string]string{"grace": errs.MessageOf(err)})
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.showKey(w, r, u, "The rotated key", created)
}

func (c *Console) enableKey(enabled bool) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u *viewer) {
		k, err := c.cfg.Keys.Update(r.Context(), actor(r, u), r.PathValue("id"), keys.UpdateParams{Enabled: &enabled})
		if err != nil {
			c.serviceError(w, r, u, err)
			return
		}
		done := map[bool]string{true: "enabled", false: "disabled"}[enabled]
		http.Redirect(w, r, "/keys/"+k.ID+"?done="+done, http.StatusSeeOther)
	}
}

func (c *Console) confirmRevoke(w http.ResponseWriter, r *http.Request, u *viewer) {
	k, err := c.cfg.Keys.Get(r.Context(), actor(r, u), r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, http.StatusOK, "confirm.html", "Revoke key "+k.Name, confirmation{
		Question: "Revoke the key " + k.Name + " (" + k.Prefix + ")?",
		Consequence: "Programs using it get no token from the moment you confirm. " +
			"A revoked key cannot be brought back: you would create a new one.",
		Action: "/keys/" + k.ID + "/revoke", Button: "Revoke key", Cancel: "/keys/" + k.ID, Danger: true,
	})
}

// confirmation is a page asking to confirm a step that cannot be undone.
type confirmation struct {
	Question, Consequence, Action, Button, Cancel string
	Danger                                        bool
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, u *viewer) {
	if err := c.cfg.Keys.Delete(r.Context(), actor(r, u), r.PathValue("id")); err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/keys?done=revoked", http.StatusSeeOther)
}

// editForm is the edit form: the key's changeable fields as text, as the user left them.
type editForm struct {
	Key                                   keyView
	Name, Description, Scopes, ExpiresOn  string
	RateRequests, RateWindow, IPAllowlist string
	Metadata                              string
	Errors                                map[string]string
	// Roles are the checked roles: a limited key's own, which may only be unchecked
	// (narrowed); an unrestricted key offers the viewer's limitable roles (Offered).
	Roles, Offered []string
}

// TextInputs are the form's text fields, for the template.
func (f editForm) TextInputs() []textInput {
	return textInputs(func(t keyText) *string { return t.edit(&f) }, f.Errors)
}

// editFormOf fills the form with what the key holds now.
func editFormOf(v keyView, k keys.Key) editForm {
	f := editForm{Key: v, Scopes: strings.Join(k.Scopes, " "),
		IPAllowlist: strings.Join(k.IPAllowlist, "\n"), Metadata: v.Metadata, Roles: k.Roles, Offered: k.Roles}
	for _, t := range keyTexts {
		*t.edit(&f) = t.value(k)
	}
	if k.ExpiresAt != nil {
		f.ExpiresOn = k.ExpiresAt.UTC().Format(time.DateOnly)
	}
	if l := k.RateLimit; l.Own && !l.Unlimited { // the server's default or unlimited: the fields stay empty
		f.RateRequests, f.RateWindow = strconv.Itoa(l.Requests), strconv.Itoa(l.WindowSeconds)
	}
	return f
}

func (c *Console) editKey(w http.ResponseWriter, r *http.Request, u *viewer) {
	k, err := c.cfg.Keys.Get(r.Context(), actor(r, u), r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.editFormPage(w, r, u, http.StatusOK, k.Name, editFormOf(c.keyView(k), k))
}

// editFormPage renders the edit form; an unrestricted key is offered the viewer's
// limitable roles (the service checks them against the key's owner).
func (c *Console) editFormPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, name string, f editForm) {
	if f.Key.Roles == nil {
		offered, err := c.cfg.Keys.LimitableRoles(r.Context(), actor(r, u))
		if err != nil {
			c.serviceError(w, r, u, err)
			return
		}
		f.Offered = offered
	}
	c.render(w, r, u, status, "key-edit.html", "Edit key "+name, f)
}

// changes is the update the form asks for: only the fields that differ from the key,
// so that an untouched field (an admin's limit, say) is not sent as if it were set.
func (f editForm) changes(was editForm) (keys.UpdateParams, map[string]string) {
	var p keys.UpdateParams
	bad := map[string]string{}
	texts := map[string]string{}
	for _, t := range keyTexts {
		if now := *t.edit(&f); now != *t.edit(&was) {
			texts[t.field] = now
		}
	}
	setTexts(&p, texts)
	if scopes := strings.Fields(f.Scopes); strings.Join(scopes, " ") != strings.Join(strings.Fields(was.Scopes), " ") {
		p.Scopes = &scopes
	}
	if f.ExpiresOn != was.ExpiresOn {
		d, err := time.Parse(time.DateOnly, f.ExpiresOn)
		if err != nil {
			bad["expires_at"] = "give the date the key expires (a key's expiry can be brought forward, not removed or put off)"
		} else {
			at := d.Format(time.RFC3339)
			p.ExpiresAt = &at
		}
	}
	if strings.TrimSpace(f.RateRequests) != was.RateRequests || strings.TrimSpace(f.RateWindow) != was.RateWindow {
		req, err1 := strconv.Atoi(strings.TrimSpace(f.RateRequests))
		win, err2 := strconv.Atoi(strings.TrimSpace(f.RateWindow))
		if err1 != nil || err2 != nil {
			bad["rate_limit"] = "give whole numbers of requests and seconds"
		}
		p.RateLimit = &keys.RateLimit{Requests: req, WindowSeconds: win}
	}
	if list := splitList(f.IPAllowlist); strings.Join(list, " ") != strings.Join(splitList(was.IPAllowlist), " ") {
		p.IPAllowlist = &list
	}
	// Roles: a limited key's unchecked roles narrow it; checking any of an unrestricted
	// key's offered roles limits it to them.
	if (was.Roles != nil || len(f.Roles) > 0) && strings.Join(f.Roles, " ") != strings.Join(was.Roles, " ") {
		roles := append([]string{}, f.Roles...)
		p.Roles = &roles
	}
	if meta := strings.TrimSpace(f.Metadata); meta != strings.TrimSpace(was.Metadata) {
		if meta == "" {
			meta = "{}"
		}
		p.Metadata = json.RawMessage(meta)
	}
	return p, bad
}

// splitList reads addresses separated by commas, spaces or lines.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (c *Console) updateKey(w http.ResponseWriter, r *http.Request, u *viewer) {
	ctx, a := r.Context(), actor(r, u)
	k, err := c.cfg.Keys.Get(ctx, a, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	was := editFormOf(c.keyView(k), k)
	f := editForm{Key: was.Key, Scopes: r.PostFormValue("scopes"), ExpiresOn: r.PostFormValue("expires_on"), RateRequests: r.PostFormValue("rate_requests"),
		RateWindow: r.PostFormValue("rate_window"), IPAllowlist: r.PostFormValue("ip_allowlist"), Metadata: r.PostFormValue("metadata"),
		Roles: r.PostForm["roles"], Offered: was.Offered}
	for _, t := range keyTexts {
		*t.edit(&f) = r.PostFormValue(t.field)
	}
	p, bad := f.changes(was)
	if len(bad) == 0 {
		_, err = c.cfg.Keys.Update(ctx, a, k.ID, p)
		if fe, ok := fieldErrors(err); ok {
			bad = fe
		} else if kind := errs.KindOf(err); err != nil && (kind == errs.Conflict || kind == errs.Forbidden) {
			bad = map[string]string{"form": errs.MessageOf(err)}
		} else if err != nil {
			c.serviceError(w, r, u, err)
			return
		}
	}
	if len(bad) > 0 {
		f.Errors = bad
		c.editFormPage(w, r, u, http.StatusBadRequest, k.Name, f)
		return
	}
	http.Redirect(w, r, "/keys/"+k.ID+"?done=updated", http.StatusSeeOther)
}
