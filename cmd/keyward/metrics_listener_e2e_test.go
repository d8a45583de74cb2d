package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/kctest"
)

// With KEYWARD_METRICS_LISTEN_ADDR, /metrics is served there and only there: the
// public listener (what an ingress routes) answers no metrics, and the metrics
// listener serves nothing else.
func TestMetricsListener_MetricsOffThePublicListener(t *testing.T) {
	kc := kctest.Require(t)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_METRICS_LISTEN_ADDR": "127.0.0.1:0"})
	if app.metricsURL == "" {
		t.Fatal("no metrics listener was started")
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if status, body := get(app.metricsURL + "/metrics"); status != http.StatusOK || !strings.Contains(body, "keyward_exchanges_total") {
		t.Fatalf("metrics listener /metrics: %d", status)
	}
	if status, body := get(app.url + "/metrics"); status == http.StatusOK && strings.Contains(body, "keyward_") {
		t.Fatalf("the public listener still serves metrics: %d", status)
	}
	for _, path := range []string{"/v1/token", "/readyz", "/openapi.json", "/"} {
		if status, _ := get(app.metricsURL + path); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("metrics listener %s: %d, want nothing", path, status)
		}
	}
	if status, _ := get(app.url + "/readyz"); status != http.StatusOK {
		t.Fatalf("the public listener's /readyz: %d", status)
	}
}
