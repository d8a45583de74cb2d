package main

import (
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
		duration: 15 * time.Second, probeWarmup: 2 * time.Second, probe: 16 * time.Second, maxRequests: 1000}
	if err := c.check(4); err != nil {
		t.Fatalf("the default plan is refused: %v", err)
	}
	c.duration = 30 * time.Second
	if err := c.check(4); err == nil {
		t.Fatal("a plan over three minutes is accepted")
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
