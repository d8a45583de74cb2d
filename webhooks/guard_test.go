package webhooks_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/webhooks"
)

// Every class of internal address is refused, in each of its spellings; public
// addresses pass; an allowed network lets its addresses through and no other.
func TestGuard_RefusesInternalAddresses(t *testing.T) {
	closed, _ := webhooks.NewGuard(nil)
	for _, a := range []string{
		"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1",
		"169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "fe80::1%eth0",
		"10.0.0.1", "172.16.5.4", "192.168.1.1", "::ffff:10.1.2.3", "fc00::1", "fd12:3456::1",
		"100.64.0.1", "100.127.255.254", "0.0.0.0", "::", "0.1.2.3",
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", "255.255.255.255", "240.0.0.1",
		"192.0.2.1", "198.51.100.2", "203.0.113.3", "198.18.0.1", "2001:db8::1",
		"64:ff9b::7f00:1", "::127.0.0.1", "2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fec0::1",
	} {
		if err := closed.Check(netip.MustParseAddr(a)); err == nil {
			t.Errorf("%s is let through", a)
		} else if refused := (*webhooks.RefusedError)(nil); !errors.As(err, &refused) {
			t.Errorf("%s: %T, want a RefusedError", a, err)
		}
	}
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1", "172.32.0.1"} {
		if err := closed.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("public %s refused: %v", a, err)
		}
	}
	open, err := webhooks.NewGuard([]string{"127.0.0.0/8", "10.1.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	for a, ok := range map[string]bool{"127.0.0.1": true, "::ffff:127.0.0.1": true, "10.1.2.3": true, "10.2.0.1": false,
		"::1": false, "169.254.169.254": false} {
		if got := open.Check(netip.MustParseAddr(a)) == nil; got != ok {
			t.Errorf("allowing 127.0.0.0/8 and 10.1.0.0/16: %s passes=%v, want %v", a, got, ok)
		}
	}
	if _, err := webhooks.NewGuard([]string{"not-a-cidr"}); err == nil {
		t.Error("a bad allowed network is accepted")
	}
}

// Registration refuses internal addresses given literally, in every spelling, and
// names the field; names pass there and are checked on what they resolve to.
func TestService_Register_InternalLiteralAddresses_Refused(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "k.db"), testkit.NewClock(time.Now()))
	for _, u := range []string{
		"http://127.0.0.1:8080/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]/", "https://10.0.0.8/", "https://192.168.0.1/", "http://100.64.1.1/", "http://0.0.0.0/",
		"http://[fd00::1]/", "http://[::ffff:a9fe:a9fe]/", "http://224.0.0.1/",
	} {
		_, err := f.svc.Create(context.Background(), admin, webhooks.EndpointInput{URL: u, EventTypes: []string{"*"}})
		var v *errs.Validation
		if !errors.As(err, &v) || v.Fields[0].Field != "url" {
			t.Errorf("%s registered: %v", u, err)
		}
	}
	if _, err := f.svc.Create(context.Background(), admin, webhooks.EndpointInput{URL: "http://localhost:9/", EventTypes: []string{"*"}}); err != nil {
		t.Errorf("a host name is refused at registration: %v", err)
	}
}

// At delivery, the guard sits in the dialer: a name that resolves to loopback, an
// address allowed at registration whose receiver redirects to loopback, and a
// reach nothing: not a connection is made to the target.
func TestDelivery_SSRF_RefusedAtDialTime(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	// Only 127.0.0.2 is allowed: the receivers the guard must keep us from are on 127.0.0.1.
	f := newFixture(t, filepath.Join(t.TempDir(), "k.db"), clock, "127.0.0.2/32")
	target := newReceiver(t, "127.0.0.1:0")
	var targetConns atomic.Int32
	target.Config.ConnState = func(net.Conn, http.ConnState) { targetConns.Add(1) }
	port := target.Listener.Addr().(*net.TCPAddr).Port
	redirector := newReceiver(t, "127.0.0.2:0", http.StatusFound)
	redirector.Config.Handler = http.RedirectHandler(target.URL+"/stolen", http.StatusFound)

	byName := f.register(t, "http://localhost:"+strconv.Itoa(port)+"/", "key.*")
	redirect := f.register(t, redirector.URL+"/", "key.*")
	f.keyCreated(t, "ssrf")
	d := f.dispatcher(f.store, "a")
	if n := deliverDue(t, d); n != 2 {
		t.Fatalf("due: %d", n)
	}
	if len(target.requests()) != 0 || targetConns.Load() != 0 {
		t.Fatalf("the loopback target was reached: %d requests, %d connections", len(target.requests()), targetConns.Load())
	}
	a := deliveries(t, f, byName.Endpoint.ID)[0].Attempts[0]
	if a.StatusCode != 0 || !strings.Contains(a.Error, "loopback") || !strings.Contains(a.Error, "KEYWARD_WEBHOOK_ALLOWED_NETWORKS") {
		t.Errorf("localhost attempt: %+v", a)
	}
	r := deliveries(t, f, redirect.Endpoint.ID)[0].Attempts[0]
	if r.StatusCode != http.StatusFound || !strings.Contains(r.Error, "redirect") {
		t.Errorf("redirect attempt: %+v", r)
	}
	if strings.Contains(a.Error+r.Error, "stolen") {
		t.Errorf("an attempt's error repeats a URL: %q %q", a.Error, r.Error)
	}
}
