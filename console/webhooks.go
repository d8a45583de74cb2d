package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/webhooks"
)

// webhookForm is an endpoint's form as the admin filled it in.
type webhookForm struct {
	URL, Description string
	EventTypes       []string
	Enabled          bool
	Errors           map[string]string
}

type webhooksPage struct {
	Items []webhooks.Endpoint
	Next  string
	Form  webhookForm
	Known []string // the event types and families an endpoint may subscribe to
}

// webhooksOn answers 503 where webhooks are not wired.
func (c *Console) webhooksOn(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u *viewer) {
		if c.cfg.Webhooks == nil {
			c.fail(w, r, u, http.StatusServiceUnavailable, "Webhooks are not configured on this server.")
			return
		}
		h(w, r, u)
	}
}

func (c *Console) listWebhooks(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.webhooksPage(w, r, u, http.StatusOK, webhookForm{Enabled: true})
}

func (c *Console) webhooksPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, f webhookForm) {
	list, err := c.cfg.Webhooks.List(r.Context(), r.URL.Query().Get("cursor"), 20)
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.render(w, r, u, status, "webhooks.html", "Webhooks", webhooksPage{Items: list.Items, Next: list.NextCursor, Form: f,
		Known: webhooks.Subscriptions()})
}

func webhookFormOf(r *http.Request) webhookForm {
	return webhookForm{URL: strings.TrimSpace(r.PostFormValue("url")), Description: r.PostFormValue("description"),
		EventTypes: r.PostForm["event_types"], Enabled: r.PostFormValue("enabled") == "on"}
}

func (c *Console) createWebhook(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := webhookFormOf(r)
	created, err := c.cfg.Webhooks.Create(r.Context(), actor(r, u), webhooks.EndpointInput{URL: f.URL, Description: f.Description,
		EventTypes: f.EventTypes, Enabled: &f.Enabled})
	if c.formProblem(err, &f.Errors) {
		c.webhooksPage(w, r, u, http.StatusBadRequest, f)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.showWebhookSecret(w, r, u, "The new endpoint's signing secret", created, "")
}

// showWebhookSecret is the one page that ever holds an endpoint's signing secret: the
// answer to the POST that made it (no-store, no URL).
func (c *Console) showWebhookSecret(w http.ResponseWriter, r *http.Request, u *viewer, title string, ws webhooks.WithSecret, note string) {
	c.render(w, r, u, http.StatusOK, "webhook-secret.html", title, map[string]any{"Endpoint": ws.Endpoint, "Secret": ws.Secret, "Note": note})
}

type webhookPage struct {
	Endpoint   webhooks.Endpoint
	Form       webhookForm
	Known      []string
	Deliveries []webhooks.Delivery
	Next       string
	Overlap    string
	Errors     map[string]string // of the secret rotation and the redeliveries
}

func (c *Console) webhookDetail(w http.ResponseWriter, r *http.Request, u *viewer) {
	c.webhookPage(w, r, u, http.StatusOK, webhookPage{Overlap: "0"}, nil)
}

// webhookPage renders an endpoint; form, when given, is the edit form as sent.
func (c *Console) webhookPage(w http.ResponseWriter, r *http.Request, u *viewer, status int, p webhookPage, form *webhookForm) {
	ctx := r.Context()
	ep, err := c.cfg.Webhooks.Endpoint(ctx, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	deliveries, err := c.cfg.Webhooks.Deliveries(ctx, ep.ID, r.URL.Query().Get("cursor"), 20)
	if fe, ok := fieldErrors(err); ok {
		c.fail(w, r, u, http.StatusBadRequest, "This page link is not valid: "+fe["cursor"]+".")
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	p.Endpoint, p.Known, p.Deliveries, p.Next = ep, webhooks.Subscriptions(), deliveries.Items, deliveries.NextCursor
	p.Form = webhookForm{URL: ep.URL, Description: ep.Description, EventTypes: ep.EventTypes, Enabled: ep.Enabled}
	if form != nil {
		p.Form = *form
	}
	c.render(w, r, u, status, "webhook.html", "Webhook "+hostOf(ep.URL), p)
}

func (c *Console) updateWebhook(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := webhookFormOf(r)
	_, err := c.cfg.Webhooks.Update(r.Context(), actor(r, u), r.PathValue("id"), webhooks.EndpointPatch{URL: &f.URL,
		Description: &f.Description, EventTypes: &f.EventTypes})
	if c.formProblem(err, &f.Errors) {
		c.webhookPage(w, r, u, http.StatusBadRequest, webhookPage{Overlap: "0"}, &f)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/webhooks/"+r.PathValue("id")+"?done=wupdated", http.StatusSeeOther)
}

func (c *Console) enableWebhook(enabled bool) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u *viewer) {
		ep, err := c.cfg.Webhooks.Update(r.Context(), actor(r, u), r.PathValue("id"), webhooks.EndpointPatch{Enabled: &enabled})
		if err != nil {
			c.serviceError(w, r, u, err)
			return
		}
		http.Redirect(w, r, "/admin/webhooks/"+ep.ID+"?done="+map[bool]string{true: "wenabled", false: "wdisabled"}[enabled], http.StatusSeeOther)
	}
}

func (c *Console) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, u *viewer) {
	overlap := strings.TrimSpace(r.PostFormValue("previous_valid_hours"))
	hours, err := strconv.Atoi(overlap)
	if err != nil {
		c.webhookPage(w, r, u, http.StatusBadRequest, webhookPage{Overlap: overlap,
			Errors: map[string]string{"previous_valid_hours": "give whole hours between 0 and " + strconv.Itoa(api.WebhookPreviousValidHoursMax)}}, nil)
		return
	}
	rotated, err := c.cfg.Webhooks.RotateSecret(r.Context(), actor(r, u), r.PathValue("id"), hours)
	var problems map[string]string
	if c.formProblem(err, &problems) {
		c.webhookPage(w, r, u, http.StatusBadRequest, webhookPage{Overlap: overlap, Errors: problems}, nil)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	note := "The old secret no longer signs: receivers must use the new one now."
	if hours > 0 {
		note = "The old secret signs beside the new one for " + overlap + " hours (webhook-signature holds both): move receivers to the new one before then."
	}
	c.showWebhookSecret(w, r, u, "The endpoint's new signing secret", rotated, note)
}

func (c *Console) confirmDeleteWebhook(w http.ResponseWriter, r *http.Request, u *viewer) {
	ep, err := c.cfg.Webhooks.Endpoint(r.Context(), r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	base := "/admin/webhooks/" + ep.ID
	c.render(w, r, u, http.StatusOK, "confirm.html", "Delete webhook", confirmation{
		Question: "Delete the endpoint " + ep.URL + "?", Consequence: "Nothing more is sent to it, and its delivery log goes with it. " +
			"This cannot be undone.", Action: base + "/delete", Button: "Delete endpoint", Cancel: base, Danger: true})
}

func (c *Console) deleteWebhook(w http.ResponseWriter, r *http.Request, u *viewer) {
	if err := c.cfg.Webhooks.Delete(r.Context(), actor(r, u), r.PathValue("id")); err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/webhooks?done=deleted", http.StatusSeeOther)
}

func (c *Console) redeliverWebhook(w http.ResponseWriter, r *http.Request, u *viewer) {
	_, err := c.cfg.Webhooks.Redeliver(r.Context(), actor(r, u), r.PathValue("id"), r.PathValue("delivery"))
	var problems map[string]string
	if c.formProblem(err, &problems) {
		c.webhookPage(w, r, u, http.StatusConflict, webhookPage{Overlap: "0", Errors: map[string]string{"redeliver": problems["form"]}}, nil)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/webhooks/"+r.PathValue("id")+"?done=redelivered", http.StatusSeeOther)
}

// hostOf names an endpoint by its host: its path or query may carry a receiver's token.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "endpoint"
}
