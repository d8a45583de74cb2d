package browsertest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/chromedp"
)

func TestBrowser_ReadsAPageAndScreenshotsIt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><h1 id="h">hello ` + r.URL.Query().Get("n") + `</h1>`))
	}))
	defer srv.Close()
	ctx := New(t, time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?n=browser")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#h")))
	if err != nil || text != "hello browser" {
		t.Fatalf("heading %q, %v", text, err)
	}
	t.Setenv(EnvScreenshotDir, t.TempDir())
	b, err := os.ReadFile(Screenshot(t, ctx, "hello page"))
	if err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Fatalf("not a PNG (%d bytes, %v)", len(b), err)
	}
}

func TestStaleNode_OnlyDevToolsMissingNode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("send keys: %w", &cdproto.Error{Code: -32000, Message: "Could not find node with given id"}), true},
		{&cdproto.Error{Code: -32000, Message: "No node with given id found"}, true},
		{&cdproto.Error{Code: -32000, Message: "Cannot find context with specified id"}, false},
		{errors.New("could not find node with given id"), false}, // not from DevTools
		{nil, false},
	} {
		if got := staleNode(tc.err); got != tc.want {
			t.Errorf("staleNode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
