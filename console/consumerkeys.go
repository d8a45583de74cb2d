package console

import (
	"net/http"

	"github.com/keyward/keyward/keys"
)

// Consumer keys on the consumer's page: its keys, and a form that makes one and shows
// it once (as the personal key's create page does).

// consumerKeys are the consumer's live keys, newest first (at most 100: the page
// links each to its key page).
func (c *Console) consumerKeys(r *http.Request, u *viewer, consumerID string) ([]keyView, error) {
	page, err := c.cfg.Keys.List(r.Context(), actor(r, u), keys.ListParams{Consumer: consumerID, Limit: 100})
	if err != nil {
		return nil, err
	}
	out := make([]keyView, 0, len(page.Items))
	for _, k := range page.Items {
		out = append(out, c.keyView(k))
	}
	return out, nil
}

// createConsumerKey makes a key for the consumer (admins only: the route is under
// /admin) and shows it this once.
func (c *Console) createConsumerKey(w http.ResponseWriter, r *http.Request, u *viewer) {
	f := keyForm{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Environment: r.PostFormValue("environment"), Expiry: r.PostFormValue("expiry"), Scopes: r.PostFormValue("scopes")}
	p, bad := f.params()
	p.Consumer = r.PathValue("id")
	if len(bad) > 0 {
		f.Errors = bad
		c.consumerPageKey(w, r, u, http.StatusBadRequest, clientForm{}, nil, &f)
		return
	}
	created, err := c.cfg.Keys.Create(r.Context(), actor(r, u), p)
	if c.formProblem(err, &f.Errors) {
		c.consumerPageKey(w, r, u, http.StatusBadRequest, clientForm{}, nil, &f)
		return
	}
	if err != nil {
		c.serviceError(w, r, u, err)
		return
	}
	c.showKey(w, r, u, "The consumer's new key", created)
}
