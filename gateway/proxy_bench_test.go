package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
)

// The sidecar's cost per request in-process: a client → the proxy → httptest stand-ins
// for Keyward's forward-auth (200 with a fixed bearer) and a tiny upstream. The
// _Direct benchmark is the client → upstream alone, so the difference is the proxy's.
// Allocations counted include the stand-ins and the client, the same in both.

func BenchmarkProxy_Request(b *testing.B) {
	kw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Authorization", "Bearer "+testToken)
		w.Header().Set("Cache-Control", "no-store")
	}))
	defer kw.Close()
	up := tinyUpstream()
	defer up.Close()
	h, err := NewProxy(ProxyConfig{KeywardURL: kw.URL, Upstream: up.URL})
	if err != nil {
		b.Fatal(err)
	}
	p := httptest.NewServer(h)
	defer p.Close()
	benchGets(b, p.URL+"/reports?page=2", true)
}

func BenchmarkProxy_Direct(b *testing.B) {
	up := tinyUpstream()
	defer up.Close()
	benchGets(b, up.URL+"/reports?page=2", false)
}

func tinyUpstream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
}

func benchGets(b *testing.B, url string, withKey bool) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: t}
	defer t.CloseIdleConnections()
	key := benchKey(b, withKey)
	do := func() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	do() // connections open before the clock starts
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for b.Loop() {
		do()
	}
	// CPU time of the whole process (client, proxy, stand-ins): on a busy machine
	// wall time per request says more about the neighbours than about the proxy.
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchKey is a real key (when one is wanted), so KeyFrom takes a caller's path.
func benchKey(b *testing.B, want bool) string {
	if !want {
		return ""
	}
	k, err := exchange.GenerateKey(exchange.EnvTest)
	if err != nil {
		b.Fatal(err)
	}
	return k.String()
}
