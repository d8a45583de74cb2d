package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	for u, ok := range map[string]bool{
		"http://127.0.0.1:8180":    true,
		"http://127.0.0.2:8080":    true, // all of 127/8 is loopback
		"http://[::1]:8080":        true,
		"http://localhost:8080":    true,
		"http://10.0.0.1:8180":     false,
		"http://keycloak.example":  false,
		"http://0.0.0.0:8080":      false,
		"ftp://127.0.0.1/":         false,
		"127.0.0.1:8080":           false, // no scheme
		"http://127.0.0.1.nip.io/": false,
	} {
		if err := loopbackOnly(u); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok=%v", u, err, ok)
		}
	}
}

func TestPercentile_NearestRank(t *testing.T) {
	r := result{}
	for i := 1; i <= 100; i++ {
		r.samples = append(r.samples, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{.5: 50 * time.Millisecond, .99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := r.percentile(p); got != want {
			t.Errorf("p%v = %v, want %v", p*100, got, want)
		}
	}
	if got := (result{}).percentile(.5); got != 0 {
		t.Errorf("no samples: %v", got)
	}
}

func TestConfigCheck_BoundsThePlan(t *testing.T) {
	c := config{concurrency: 16, initialWarmup: 30 * time.Second, warmup: 5 * time.Second,
		duration: 15 * time.Second, probeWarmup: 2 * time.Second, probe: 16 * time.Second, maxRequests: 1000,
		doorWarmup: 3 * time.Second, doorDuration: 10 * time.Second}
	all := strings.Split("bare,cc,jwt,off,on,rr,static,nginx,proxy", ",")
	if err := c.check(all); err != nil {
		t.Fatalf("the default plan (nine rows) is refused: %v", err)
	}
	c.doorDuration = 20 * time.Second
	if err := c.check(all); err == nil {
		t.Fatal("a plan over four minutes is accepted (door rows)")
	}
	c.doorDuration, c.duration = 10*time.Second, 30*time.Second
	if err := c.check(all[:6]); err == nil {
		t.Fatal("a plan over four minutes is accepted")
	}
}

func TestParseRows(t *testing.T) {
	if rows, err := parseRows("cc, jwt,off,on"); err != nil || len(rows) != 4 {
		t.Fatalf("%v %v", rows, err)
	}
	for _, bad := range []string{"cc,cc", "cc,foo", ""} {
		if _, err := parseRows(bad); err == nil {
			t.Errorf("parseRows(%q) accepted", bad)
		}
	}
}

// The load loop counts only measured requests, splits them by target, keeps errors
// apart and stops at the request bound.
func TestLoad_CountsMeasuredRequestsPerTarget(t *testing.T) {
	var calls [2]atomic.Int64
	mk := func(k int, fail bool) *target {
		return &target{name: fmt.Sprint("t", k), do: func(context.Context, *http.Client) error {
			calls[k].Add(1)
			if fail {
				return errors.New("refused")
			}
			return nil
		}}
	}
	b := &bench{client: http.DefaultClient}
	b.c.timeout, b.c.maxRequests = time.Second, 1_000_000
	res := b.load(context.Background(), []*target{mk(0, false), mk(1, true)}, 4, 20*time.Millisecond, 100*time.Millisecond)
	if len(res) != 2 || len(res[0].samples) == 0 || res[0].errors != 0 || res[0].elapsed <= 0 {
		t.Fatalf("good target: %d samples, %d errors, elapsed %v", len(res[0].samples), res[0].errors, res[0].elapsed)
	}
	if len(res[1].samples) != 0 || res[1].errors == 0 || res[1].lastError != "refused" {
		t.Fatalf("failing target: %d samples, %d errors, last %q", len(res[1].samples), res[1].errors, res[1].lastError)
	}
	if got := int64(len(res[0].samples)) + res[1].errors; got >= calls[0].Load()+calls[1].Load() {
		t.Fatalf("warm-up requests were counted: %d counted of %d made", got, calls[0].Load()+calls[1].Load())
	}
	b.c.maxRequests = 10
	res = b.load(context.Background(), []*target{mk(0, false)}, 4, 0, time.Minute)
	if n := len(res[0].samples); n > 10 {
		t.Fatalf("%d requests counted past a bound of 10", n)
	}
}
