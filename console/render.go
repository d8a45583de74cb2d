package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
)

// pageView is what every template gets.
type pageView struct {
	User  *viewer
	Title string
	Path  string
	Flash string
	Data  any
}

var funcs = template.FuncMap{
	// The forms' bounds are the wire contract's (package api).
	"keyNameMax": func() int { return api.KeyNameMax },
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return "never"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"statusWord": func(s string) string {
		return map[string]string{"active": "Active", "expiring_soon": "Expiring soon", "expired": "Expired", "inactive": "Inactive", "owner_disabled": "Owner disabled"}[s]
	},
	"join":            strings.Join,
	"hasPrefix":       strings.HasPrefix,
	"gatewaySnippets": GatewaySnippets,
	"gatewayURL":      func() string { return GatewayExampleURL },
	"list":            func(v ...string) []string { return v },
	"json": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return ""
		}
		return string(b)
	},
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"q": func(pairs ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(pairs); i += 2 {
			if pairs[i+1] != "" {
				v.Set(pairs[i], pairs[i+1])
			}
		}
		if len(v) == 0 {
			return ""
		}
		return "?" + v.Encode()
	},
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// flashes are the fixed messages a redirect may ask for (?done=…): never user text.
var flashes = map[string]string{
	"disabled":     "The key is disabled: it gets no token until enabled again.",
	"enabled":      "The key is enabled.",
	"updated":      "The key is changed.",
	"revoked":      "The key is revoked: it gets no token from now on.",
	"consumer":     "The consumer was created.",
	"deleted":      "Deleted.",
	"group":        "The ACL group was created.",
	"cenabled":     "The client is enabled.",
	"cdisable":     "The client is disabled: Keycloak refuses it tokens.",
	"consenabled":  "The consumer is enabled: its keys and OAuth clients work again.",
	"consdisabled": "The consumer is disabled: its keys and OAuth clients are refused.",
	"cupdated":     "The consumer is changed; its clients' tokens carry the new ACL groups from their next token on.",
	"wupdated":     "The endpoint is changed.",
	"wenabled":     "The endpoint is enabled: deliveries resume.",
	"wdisabled":    "The endpoint is disabled: nothing is sent to it until enabled again.",
	"redelivered":  "The delivery is queued again; its attempts show below as they happen.",
}

// render writes a page. Every page is no-store: some carry secrets, none is worth a
// cached copy.
func (c *Console) render(w http.ResponseWriter, r *http.Request, u *viewer, status int, name, title string, data any) {
	t := c.pages[name]
	var buf bytes.Buffer
	p := pageView{User: u, Title: title, Flash: flashes[r.URL.Query().Get("done")], Data: data}
	if r.Method == http.MethodGet {
		p.Path = r.URL.Path // the menu marks the page; a POST's answer is none of them
	}
	if t == nil {
		c.cfg.Log.Error("console: no such template", zap.String("template", name))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.cfg.Log.Error("console: render", zap.String("template", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// fieldErrors turns a service's field problems into a message per form field: the
// part of the name before any '.' or '[' (rate_limit.requests → rate_limit).
func fieldErrors(err error) (map[string]string, bool) {
	var v *errs.Validation
	if !errors.As(err, &v) {
		return nil, false
	}
	out := map[string]string{}
	for _, f := range v.Fields {
		name := f.Field
		if i := strings.IndexAny(name, ".["); i > 0 {
			name = name[:i]
		}
		if prev, ok := out[name]; ok {
			out[name] = prev + "; " + f.Message
		} else {
			out[name] = f.Message
		}
	}
	return out, true
}
