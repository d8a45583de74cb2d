package console

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/reqinfo"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

type consumerForm struct {
	Name, Description, Environment string
	ACLGroups                      []string
	ContactEmail                   string
	Errors                         map[string]string
}

type consumersPage struct {
	Items  []provisioning.Consumer
	Groups []provisioning.ACLGroup
	Form   consumerForm
	Q      string
	Next   string
}

func (c *Console) listConsumers(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.consumersPage(w, r, u, http.StatusOK, consumerForm{Environment: "production"})
}

func (c *Console) consumersPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, form consumerForm) {
	ctx := r.Context()
	q := r.URL.Query()
	page, err := c.cfg.Provisioning.ListConsumers(ctx, provisioning.ConsumerQuery{Q: q.Get("q"), Cursor: q.Get("cursor")})
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	groups, err := c.cfg.Provisioning.ListACLGroups(ctx)
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, status, "consumers.html", "Consumers", consumersPage{Items: page.Items, Groups: groups, Form: form,
		Q: q.Get("q"), Next: page.NextCursor})
}

func (c *Console) createConsumer(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := consumerForm{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Environment: r.PostFormValue("environment"), ACLGroups: r.PostForm["acl_groups"], ContactEmail: r.PostFormValue("contact_email")}
	cons, err := c.cfg.Provisioning.CreateConsumer(r.Context(), actor(r, u), provisioning.ConsumerInput{
		Name: f.Name, Description: f.Description, Environment: f.Environment, ACLGroups: f.ACLGroups, ContactEmail: f.ContactEmail})
	if c.formProblem(err, &f.Errors) {
		c.consumersPage(w, r, u, http.StatusBadRequest, f)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/consumers/"+cons.ID+"?done=consumer", http.StatusSeeOther)
}

// formProblem puts what the user can fix (field problems, conflicts) into problems
// and says whether there was any.
func (c *Console) formProblem(err error, problems *map[string]string) bool {
	if fe, ok := fieldErrors(err); ok {
		*problems = fe
		return true
	}
	if k := errs.KindOf(err); err != nil && (k == errs.Conflict || k == errs.Forbidden) {
		*problems = map[string]string{"form": errs.MessageOf(err)}
		return true
	}
	return false
}

type clientForm struct {
	ClientID, Name, Description string
	Errors                      map[string]string
}

type consumerPage struct {
	Consumer provisioning.Consumer
	Clients  []provisioning.Client
	Form     clientForm
	Groups   []provisioning.ACLGroup
	Edit     consumerForm
	// Keys are the consumer's keys, KeyForm its create form (consumerkeys.go).
	Keys    []keyView
	KeyForm keyForm
}

func (c *Console) consumerDetail(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.consumerPage(w, r, u, http.StatusOK, clientForm{}, nil)
}

// consumerPage renders a consumer; edit, when given, is its change form as sent.
func (c *Console) consumerPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, form clientForm, edit *consumerForm) {
	c.consumerPageKey(w, r, u, status, form, edit, nil)
}

// consumerPageKey is consumerPage with its key form as sent, when given.
func (c *Console) consumerPageKey(w http.ResponseWriter, r *http.Request, u *viewer, status int, form clientForm, edit *consumerForm, key *keyForm) {
	ctx := r.Context()
	cons, err := c.cfg.Provisioning.Consumer(ctx, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	clients, err := c.cfg.Provisioning.ListClients(ctx, provisioning.ClientQuery{ConsumerID: cons.ID, Limit: 100})
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	groups, err := c.cfg.Provisioning.ListACLGroups(ctx)
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	p := consumerPage{Consumer: cons, Clients: clients.Items, Form: form, Groups: groups,
		Edit: consumerForm{Description: cons.Description, ACLGroups: cons.ACLGroups, ContactEmail: cons.ContactEmail}, KeyForm: keyForm{Environment: "production", Expiry: "365"}}
	if edit != nil {
		p.Edit = *edit
	}
	if key != nil {
		p.KeyForm = *key
	}
	if p.Keys, err = c.consumerKeys(r, u, cons.ID); err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, status, "consumer.html", "Consumer "+cons.Name, p)
}

// updateConsumer changes a consumer's description and ACL groups; the groups reach
// its clients' service accounts in Keycloak (the service does that first).
func (c *Console) updateConsumer(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := consumerForm{Description: r.PostFormValue("description"), ACLGroups: r.PostForm["acl_groups"],
		ContactEmail: r.PostFormValue("contact_email")}
	if f.ACLGroups == nil {
		f.ACLGroups = []string{}
	}
	patch := provisioning.ConsumerPatch{Description: &f.Description, ACLGroups: &f.ACLGroups}
	if _, sent := r.PostForm["contact_email"]; sent { // a form without the field leaves it
		patch.ContactEmail = &f.ContactEmail
	}
	cons, err := c.cfg.Provisioning.UpdateConsumer(r.Context(), actor(r, u), r.PathValue("id"), patch)
	if c.formProblem(err, &f.Errors) {
		c.consumerPage(w, r, u, http.StatusBadRequest, clientForm{}, &f)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/consumers/"+cons.ID+"?done=cupdated", http.StatusSeeOther)
}

func (c *Console) createClient(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := clientForm{ClientID: r.PostFormValue("client_id"), Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	created, err := c.cfg.Provisioning.CreateClient(r.Context(), actor(r, u), r.PathValue("id"), provisioning.ClientInput{
		ClientID: strings.TrimSpace(f.ClientID), Name: f.Name, Description: f.Description})
	if c.formProblem(err, &f.Errors) {
		c.consumerPage(w, r, u, http.StatusBadRequest, f, nil)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.showSecret(w, r, u, "The new client's secret", created.Client, created.Secret, "This is the client's secret. Copy it now: "+
		"it is not shown again here (an admin can view it later, which is audited).")
}

// showSecret is the answer to the POST that made or revealed a client secret: the only
// page that ever holds it (no-store, no URL).
func (c *Console) showSecret(w http.ResponseWriter, r *http.Request, u *viewer, title string, cl provisioning.Client, secret, note string) {
	c.render(w, r, u, http.StatusOK, "secret.html", title, map[string]any{"Client": cl, "Secret": secret, "Note": note})
}

func (c *Console) deleteConsumer(w http.ResponseWriter, r *http.Request, u *viewer) {
	if err := c.cfg.Provisioning.DeleteConsumer(r.Context(), actor(r, u), r.PathValue("id"), false); err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/consumers?done=deleted", http.StatusSeeOther)
}

func (c *Console) listClients(w http.ResponseWriter, r *http.Request, u *viewer) {
	q := r.URL.Query()
	page, err := c.cfg.Provisioning.ListClients(r.Context(), provisioning.ClientQuery{Q: q.Get("q"), Cursor: q.Get("cursor")})
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, http.StatusOK, "clients.html", "OAuth clients", map[string]any{"Items": page.Items, "Q": q.Get("q"), "Next": page.NextCursor})
}

type clientPage struct {
	Client provisioning.Client
	Test   *provisioning.TokenTest
	Errors map[string]string
	Events []models.AuditEvent
}

func (c *Console) clientDetail(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.clientPage(w, r, u, http.StatusOK, clientPage{})
}

func (c *Console) clientPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, p clientPage) {
	cl, err := c.cfg.Provisioning.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	p.Client = cl
	events, err := c.cfg.Audit.List(r.Context(), actor(r, u), audit.Filter{TargetType: "client", TargetID: cl.ID, Limit: 20})
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	p.Events = events.Events
	c.render(w, r, u, status, "client.html", "Client "+cl.ClientID, p)
}

// confirmClient asks before the client steps that reveal or destroy something.
func (c *Console) confirmClient(w http.ResponseWriter, r *http.Request, u *viewer) {
	cl, err := c.cfg.Provisioning.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	base := "/admin/clients/" + cl.ID
	var conf confirmation
	switch r.PathValue("what") {
	case "secret":
		conf = confirmation{Question: "Show the secret of " + cl.ClientID + "?", Consequence: "Viewing it is recorded in the audit trail under your name.",
			Action: base + "/secret", Button: "Show secret"}
	case "regenerate":
		conf = confirmation{Question: "Regenerate the secret of " + cl.ClientID + "?", Consequence: "The old secret stops working at once: " +
			"every program using it fails until it gets the new one.", Action: base + "/regenerate", Button: "Regenerate secret", Danger: true}
	case "delete":
		conf = confirmation{Question: "Delete the client " + cl.ClientID + "?", Consequence: "It is removed from Keycloak: its tokens stop " +
			"being issued at once. This cannot be undone.", Action: base + "/delete", Button: "Delete client", Danger: true}
	default:
		c.fail(w, r, u, http.StatusNotFound, "There is no such page.")
		return
	}
	conf.Cancel = base
	c.render(w, r, u, http.StatusOK, "confirm.html", conf.Button, conf)
}

func (c *Console) viewSecret(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.secretStep(w, r, u, c.cfg.Provisioning.ClientSecret, "The client's secret", "Viewing this secret was recorded in the audit trail.")
}

func (c *Console) regenerateSecret(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.secretStep(w, r, u, c.cfg.Provisioning.RegenerateClientSecret, "The client's new secret",
		"The old secret no longer works. Copy the new one now: it is not shown again here.")
}

// secretStep shows a secret that a service produced; one whose audit event could not
// be stored is never shown.
func (c *Console) secretStep(w http.ResponseWriter, r *http.Request, u *viewer,
	get func(ctx context.Context, a audit.Actor, id string) (provisioning.Secret, error), title, note string) {
	ctx := r.Context()
	cl, err := c.cfg.Provisioning.Client(ctx, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	secret, err := get(ctx, actor(r, u), cl.ID)
	if errors.Is(err, provisioning.ErrAuditUnavailable) {
		c.cfg.Log.Error("console: client secret withheld: its audit event could not be stored",
			zap.String("request_id", reqinfo.From(ctx).RequestID), zap.Error(err))
		c.fail(w, r, u, http.StatusServiceUnavailable, "The audit trail cannot be written, and a secret is never shown unaudited; try again shortly.")
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.showSecret(w, r, u, title, cl, secret.Value, note)
}

func (c *Console) enableClient(enabled bool) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u *viewer) {
		cl, err := c.cfg.Provisioning.UpdateClient(r.Context(), actor(r, u), r.PathValue("id"), provisioning.ClientPatch{Enabled: &enabled})
		if err != nil {
			c.serviceError(w, r, u, err)
			return
		}
		http.Redirect(w, r, "/admin/clients/"+cl.ID+"?done="+map[bool]string{true: "cenabled", false: "cdisable"}[enabled], http.StatusSeeOther)
	}
}

func (c *Console) enableConsumer(enabled bool) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u *viewer) {
		cons, err := c.cfg.Provisioning.UpdateConsumer(r.Context(), actor(r, u), r.PathValue("id"), provisioning.ConsumerPatch{Enabled: &enabled})
		if err != nil {
			c.serviceError(w, r, u, err)
			return
		}
		http.Redirect(w, r, "/admin/consumers/"+cons.ID+"?done="+map[bool]string{true: "consenabled", false: "consdisabled"}[enabled], http.StatusSeeOther)
	}
}

func (c *Console) deleteClient(w http.ResponseWriter, r *http.Request, u *viewer) {
	if err := c.cfg.Provisioning.DeleteClient(r.Context(), actor(r, u), r.PathValue("id")); err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/clients?done=deleted", http.StatusSeeOther)
}

// testClient is the token tester: the pasted secret goes to Keycloak's
// client-credentials grant, and the page shows what came back (never the secret).
func (c *Console) testClient(w http.ResponseWriter, r *http.Request, u *viewer) {
	res, err := c.cfg.Provisioning.TestClient(r.Context(), actor(r, u), r.PathValue("id"), r.PostFormValue("secret"))
	var p clientPage
	if c.formProblem(err, &p.Errors) {
		c.clientPage(w, r, u, http.StatusBadRequest, p)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	p.Test = &res
	c.clientPage(w, r, u, http.StatusOK, p)
}

type groupForm struct {
	Name, Description string
	Errors            map[string]string
}

func (c *Console) listACLGroups(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.groupsPage(w, r, u, http.StatusOK, groupForm{})
}

func (c *Console) groupsPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, f groupForm) {
	groups, err := c.cfg.Provisioning.ListACLGroups(r.Context())
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, status, "groups.html", "ACL groups", map[string]any{"Items": groups, "Form": f})
}

func (c *Console) createACLGroup(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := groupForm{Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	_, err := c.cfg.Provisioning.CreateACLGroup(r.Context(), actor(r, u), provisioning.ACLGroupInput{Name: f.Name, Description: f.Description})
	if c.formProblem(err, &f.Errors) {
		c.groupsPage(w, r, u, http.StatusBadRequest, f)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/acl-groups?done=group", http.StatusSeeOther)
}

func (c *Console) deleteACLGroup(w http.ResponseWriter, r *http.Request, u *viewer) {
	if err := c.cfg.Provisioning.DeleteACLGroup(r.Context(), actor(r, u), r.PathValue("name")); err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/acl-groups?done=deleted", http.StatusSeeOther)
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, u *viewer) {
	q := r.URL.Query()
	f := audit.Filter{TargetType: q.Get("target_type"), Owner: q.Get("owner"), Limit: auditPageSize, Cursor: q.Get("cursor")}
	p, err := c.cfg.Audit.List(r.Context(), actor(r, u), f)
	if fe, ok := fieldErrors(err); ok && fe["cursor"] != "" {
		c.fail(w, r, u, http.StatusBadRequest, "This page link is not valid for these filters; start from the first page.")
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, http.StatusOK, "audit.html", "Audit", map[string]any{"Items": p.Events, "TargetType": f.TargetType,
		"Owner": f.Owner, "Next": p.NextCursor, "First": q.Get("cursor") != ""})
}

const auditPageSize = 50
