package handlers

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/provisioning"
	"github.com/keyward/keyward/webhooks"
)

// The answers show every field of the domain values (or the field is exempted here,
// with the reason), and no field of an answer stays empty when the value is full: a
// field added to keys.Key and api.Key but forgotten in toKeyResponse fails here.

func TestToKeyResponse_EveryFieldShown(t *testing.T) {
	var k keys.Key
	testkit.Fill(&k)
	limited := k
	limited.RateLimit.Unlimited = false // requests per window are read only then
	show := func(k keys.Key) any { return (&server{}).toKeyResponse(k) }
	testkit.RequireOnly(t, "a field of keys.Key the API does not show", testkit.Unread(show, k, limited), map[string]string{
		"Enabled":       "shown as the status, which the service decides",
		"OwnerDisabled": "shown as the status, which the service decides",
		"DeletedAt":     "revoked keys are not shown (only AnyState reads them, for the audit's sake)",
		"RateLimit.Own": "the API shows the effective limit; admin_set.rate_limit says who set it",
	})
	testkit.RequireOnly(t, "a field of api.Key left empty", testkit.ZeroFields((&server{}).toKeyResponse(k)), nil)
}

func TestToConsumerClientWebhookResponses_EveryFieldShown(t *testing.T) {
	var cons provisioning.Consumer
	testkit.Fill(&cons)
	testkit.RequireOnly(t, "a field of provisioning.Consumer not shown",
		testkit.Unread(func(c provisioning.Consumer) any { return toConsumerResponse(c) }, cons), nil)
	testkit.RequireOnly(t, "a field of api.Consumer left empty", testkit.ZeroFields(toConsumerResponse(cons)), nil)

	var cl provisioning.Client
	testkit.Fill(&cl)
	testkit.RequireOnly(t, "a field of provisioning.Client not shown",
		testkit.Unread(func(c provisioning.Client) any { return toClientResponse(c) }, cl), nil)
	testkit.RequireOnly(t, "a field of api.Client left empty", testkit.ZeroFields(toClientResponse(cl)), nil)

	var e webhooks.Endpoint
	testkit.Fill(&e)
	testkit.RequireOnly(t, "a field of webhooks.Endpoint not shown",
		testkit.Unread(func(e webhooks.Endpoint) any { return toWebhookResponse(e) }, e), map[string]string{
			"CreatedBy": "kept for the audit; the API does not name who made an endpoint",
		})
	testkit.RequireOnly(t, "a field of api.Webhook left empty", testkit.ZeroFields(toWebhookResponse(e)), nil)
}

// recordingKeys keeps the parameters the handlers hand to the key service.
type recordingKeys struct {
	keys.API
	create keys.CreateParams
	update keys.UpdateParams
}

func (r *recordingKeys) Create(_ context.Context, _ audit.Actor, p keys.CreateParams) (keys.Created, error) {
	r.create = p
	return keys.Created{}, nil
}

func (r *recordingKeys) Update(_ context.Context, _ audit.Actor, _ string, p keys.UpdateParams) (keys.Key, error) {
	r.update = p
	return keys.Key{}, nil
}

// Every field of a create or update request reaches the key service: the request with
// every field set, then without each one in turn (or with a required one changed),
// must hand the service different parameters. A field bound but not passed on fails.
func TestKeyRequests_EveryFieldReachesTheService(t *testing.T) {
	rec := &recordingKeys{}
	h := newHarness(t, func(c *harnessConfig) { c.wrapKeys = func(keys.API) keys.API { return rec } })

	var create api.KeyCreate
	testkit.Fill(&create)
	// Values the filler cannot guess, so that the request binds.
	create.Environment, create.ExpiresAt = "staging", ptr("2030-01-02T03:04:05Z")
	create.RateLimit, create.IPAllowlist = &api.RateLimit{Requests: 5, WindowSeconds: 60}, []string{"10.0.0.0/8"}
	var update api.KeyUpdate
	testkit.Fill(&update)
	update.ExpiresAt, update.RateLimit = create.ExpiresAt, create.RateLimit
	update.IPAllowlist = &create.IPAllowlist

	for _, tc := range []struct {
		method, path string
		request      any
		params       func() any
	}{
		{"POST", "/v1/keys", create, func() any { return rec.create }},
		{"PATCH", "/v1/keys/k1", update, func() any { return rec.update }},
	} {
		send := func(body map[string]any) (any, bool) {
			*rec = recordingKeys{}
			resp := h.do(tc.method, tc.path, "alice-token", "application/json", mustJSON(body))
			return tc.params(), resp.Code < 300
		}
		full := map[string]any{}
		if err := json.Unmarshal([]byte(mustJSON(tc.request)), &full); err != nil {
			t.Fatal(err)
		}
		all, ok := send(full)
		if !ok {
			t.Fatalf("%s %s with every field refused", tc.method, tc.path)
		}
		testkit.RequireOnly(t, tc.path+": a parameter no request field sets", testkit.ZeroFields(all), nil)
		for name := range full {
			less := maps.Clone(full)
			delete(less, name)
			got, ok := send(less)
			if s, isText := full[name].(string); !ok && isText { // a required field: change it instead
				less[name] = s + "2"
				got, ok = send(less)
			}
			if !ok {
				t.Errorf("%s %s without %s refused: give it a changed value here", tc.method, tc.path, name)
			} else if reflect.DeepEqual(got, all) {
				t.Errorf("%s %s: %s does not reach the key service", tc.method, tc.path, name)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
