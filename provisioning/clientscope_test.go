package provisioning

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/testkit/fakekc"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// withRedirectHosts is e's service with another KEYWARD_CLIENT_REDIRECT_HOSTS.
func (e *env) withRedirectHosts(t *testing.T, hosts ...string) *Service {
	t.Helper()
	cfg := e.svc.cfg
	cfg.RedirectHosts = hosts
	svc, err := New(e.kc, e.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// fieldMessage is the message of the validation error's field, or fails.
func fieldMessage(t *testing.T, err error, field string) string {
	t.Helper()
	var verr *errs.Validation
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is not a validation error", err)
	}
	for _, f := range verr.Fields {
		if f.Field == field {
			return f.Message
		}
	}
	t.Fatalf("no problem on %s: %v", field, err)
	return ""
}

// A keyward-admin chooses a client's redirect URIs, the operator the hosts they may
// name: with none allowed, or a host outside the list, nothing is written anywhere.
func TestClients_RedirectURIs_OnlyHostsTheOperatorAllows(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	existing := e.client(t, cons.ID, "shop-plain")
	for _, c := range []struct {
		name  string
		hosts []string
		uris  []string
		field string
		says  []string
	}{
		{"none allowed", nil, []string{"https://shop.example/cb"}, "redirect_uris", []string{"KEYWARD_CLIENT_REDIRECT_HOSTS is empty"}},
		{"none allowed, loopback", nil, []string{"http://127.0.0.1:8765/cb"}, "redirect_uris", []string{"KEYWARD_CLIENT_REDIRECT_HOSTS"}},
		{"another host", []string{"shop.example"}, []string{"https://shop.example/cb", "https://attacker.example/cb"}, "redirect_uris[1]",
			[]string{`"attacker.example"`, "KEYWARD_CLIENT_REDIRECT_HOSTS does not allow"}},
		{"a lookalike of the allowed host", []string{"shop.example"}, []string{"https://shop.example.attacker.example/cb"}, "redirect_uris[0]",
			[]string{`"shop.example.attacker.example"`}},
		{"the parent of allowed subdomains", []string{"*.shop.example"}, []string{"https://shop.example/cb"}, "redirect_uris[0]", []string{`"shop.example"`}},
		{"another loopback port", []string{"127.0.0.1:8765"}, []string{"http://127.0.0.1:9999/cb"}, "redirect_uris[0]", []string{`"127.0.0.1:9999"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc := e.withRedirectHosts(t, c.hosts...)
			rowsBefore, kcBefore := len(e.clientRows(t)), e.kc.ClientCount()
			_, err := svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-web", RedirectURIs: c.uris})
			msg := fieldMessage(t, err, c.field)
			uris := c.uris
			_, uerr := svc.UpdateClient(ctx, admin, existing.ID, ClientPatch{RedirectURIs: &uris})
			umsg := fieldMessage(t, uerr, c.field)
			for _, s := range c.says {
				if !strings.Contains(msg, s) || !strings.Contains(umsg, s) {
					t.Fatalf("create says %q, update %q; want both to say %q", msg, umsg, s)
				}
			}
			if len(e.clientRows(t)) != rowsBefore || e.kc.ClientCount() != kcBefore || e.kc.HasClient("shop-web") {
				t.Fatal("a refused client was written")
			}
			if info, _ := e.kc.ServiceClientByClientID(ctx, "shop-plain"); len(info.RedirectURIs) != 0 {
				t.Fatalf("a refused update reached Keycloak: %v", info.RedirectURIs)
			}
		})
	}

	svc := e.withRedirectHosts(t, "*.shop.example", "127.0.0.1:8765")
	got, err := svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-web",
		RedirectURIs: []string{"https://app.shop.example/cb", "http://127.0.0.1:8765/cb"}})
	if err != nil || len(got.RedirectURIs) != 2 {
		t.Fatalf("allowed hosts: %+v %v", got, err)
	}
	if info, _ := e.kc.ServiceClientByClientID(ctx, "shop-web"); !info.ConsentRequired || info.FullScopeAllowed {
		t.Fatalf("client with redirect URIs: %+v", info)
	}
}

// A realm admin made a provisioned client full-scope and consent-free and mapped a
// realm-management role into its scope: the next pass puts it back, audits and logs
// it, and a second pass finds nothing.
func TestReconcile_ClientScopeOpened_Repaired_Audited(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	uris := []string{"https://shop.example/cb"}
	web, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-web", RedirectURIs: uris})
	if err != nil {
		t.Fatal(err)
	}
	e.client(t, cons.ID, "shop-plain")
	e.kc.Tamper("shop-web", func(cl *fakekc.Client) {
		cl.Info.FullScopeAllowed, cl.Info.ConsentRequired = true, false
		cl.Scope = []keycloak.RoleMapping{{Client: "realm-management", Role: "realm-admin"}}
	})
	e.kc.Tamper("shop-plain", func(cl *fakekc.Client) { cl.Info.FullScopeAllowed = true })

	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.ClientsRepaired != 2 || len(rep.ClientsUnrepaired) != 0 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	info, _ := e.kc.ServiceClientByClientID(ctx, "shop-web")
	if info.FullScopeAllowed || !info.ConsentRequired || len(kcClient(t, e, info.ID).Scope) != 0 {
		t.Fatalf("shop-web after the pass: %+v", info)
	}
	if plain, _ := e.kc.ServiceClientByClientID(ctx, "shop-plain"); plain.FullScopeAllowed || plain.ConsentRequired {
		t.Fatalf("shop-plain after the pass: %+v", plain)
	}
	if e.metrics.unrepaired.Load() != 0 {
		t.Fatalf("metric %d, want 0", e.metrics.unrepaired.Load())
	}
	var found *models.AuditEvent
	for _, ev := range e.audits(t) {
		if ev.Action == "client.reconcile" && ev.TargetID == web.ID {
			found = &ev
		}
	}
	if found == nil || !strings.Contains(found.Details, "repaired") || !strings.Contains(found.Details, "realm-admin") ||
		!strings.Contains(found.Details, "full_scope") || !strings.Contains(found.Details, "consent_off") {
		t.Fatalf("audit of the repair: %+v", found)
	}
	if n := e.logs.FilterMessageSnippet("repaired").FilterField(zap.String("client_id", "shop-web")).Len(); n != 1 {
		t.Fatalf("%d warn lines name the repaired client, want 1", n)
	}

	before := len(e.audits(t))
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.ClientsRepaired != 0 {
		t.Fatalf("second pass %+v %v", rep, err)
	}
	if len(e.audits(t)) != before {
		t.Fatal("a pass that repaired nothing audited something")
	}
}

// A realm role in a client's scope cannot be removed by Keyward (Keycloak wants
// manage-realm): the rest is repaired, the client reported by name, metric and log.
func TestReconcile_RealmRoleInScope_Reported(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	e.client(t, cons.ID, "shop-1")
	e.kc.Tamper("shop-1", func(cl *fakekc.Client) {
		cl.Info.FullScopeAllowed = true
		cl.Scope = []keycloak.RoleMapping{{Role: "keyward-admin"}, {Client: "realm-management", Role: "view-users"}}
	})
	rep, err := e.svc.Reconcile(ctx)
	if !errors.Is(err, keycloak.ErrRealmScopeForbidden) || !slices.Equal(rep.ClientsUnrepaired, []string{"shop-1"}) || rep.ClientsRepaired != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if e.metrics.unrepaired.Load() != 1 {
		t.Fatalf("metric %d, want 1", e.metrics.unrepaired.Load())
	}
	info, _ := e.kc.ServiceClientByClientID(ctx, "shop-1")
	if info.FullScopeAllowed || !slices.Equal(kcClient(t, e, info.ID).Scope, []keycloak.RoleMapping{{Role: "keyward-admin"}}) {
		t.Fatalf("after the pass: %+v %v", info, kcClient(t, e, info.ID).Scope)
	}
	if e.logs.FilterMessageSnippet("could not be repaired").FilterField(zap.String("client_id", "shop-1")).Len() != 1 {
		t.Fatal("no error line names the client")
	}

	e.kc.Tamper("shop-1", func(cl *fakekc.Client) { cl.Scope = nil }) // a realm admin removed it
	if rep, err := e.svc.Reconcile(ctx); err != nil || len(rep.ClientsUnrepaired) != 0 || e.metrics.unrepaired.Load() != 0 {
		t.Fatalf("after the admin's fix: %+v %v, metric %d", rep, err, e.metrics.unrepaired.Load())
	}
}
