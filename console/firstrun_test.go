package console

import (
	"context"
	"strings"
	"testing"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keys"
)

// listedKeys answers every list with its keys, as the key service would.
type listedKeys struct {
	fakeKeys
	items []keys.Key
}

func (l *listedKeys) List(context.Context, audit.Actor, keys.ListParams) (keys.Page, error) {
	return keys.Page{Items: l.items}, nil
}

// A user with no key lands on an empty list: the page says what a key is for, that it
// is shown once, and how to create one, instead of a bare "No keys".
func TestKeyList_NoKeysYet_ExplainsKeysAndHowToCreateOne(t *testing.T) {
	h := newHarness(t)
	lk := &listedKeys{}
	h.c.cfg.Keys, h.c.cfg.Audit = lk, audit.NewReader(noEvents{})
	h.login()

	body := h.do("GET", "/keys", nil).Body.String()
	if !strings.Contains(body, `<a class="button" id="create-first-key" href="/keys/new">Create key</a>`) {
		t.Error("the empty list has no Create key button")
	}
	text := h.pageText("/keys")
	for _, want := range []string{
		"You have no API keys yet",
		"An API key lets a program or tool work in your name without your password: a script, a notebook, Excel, a CI job.",
		"gets a short-lived access token back",
		"Keyward shows a new key only once, when you create it",
		"Keyward's documentation tells the rest, under “You hold an API key”",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the empty list does not say %q:\n%s", want, text)
		}
	}

	// Filters that match nothing, and a list with keys, stay as they were.
	if text := h.pageText("/keys?q=nothing"); strings.Contains(text, "You have no API keys yet") || !strings.Contains(text, "No keys match these filters.") {
		t.Errorf("a filtered empty list:\n%s", text)
	}
	lk.items = []keys.Key{{ID: "k1", Name: "laptop", Prefix: "kw_live_abcdef", Status: keys.StatusActive}}
	if text := h.pageText("/keys"); strings.Contains(text, "You have no API keys yet") || !strings.Contains(text, "laptop") {
		t.Errorf("a list with a key:\n%s", text)
	}
}

// The admins' list of every owner's keys is no first run: it keeps its plain "No keys".
func TestAdminKeyList_Empty_Unchanged(t *testing.T) {
	h, _ := keysHarness(t)
	h.c.cfg.Keys, h.c.cfg.Provisioning = &listedKeys{}, consumerProv{}
	text := h.pageText("/admin/keys")
	if strings.Contains(text, "You have no API keys yet") || !strings.Contains(text, "No keys. Create a key") {
		t.Errorf("the admins' empty list:\n%s", text)
	}
}
