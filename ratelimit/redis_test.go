package ratelimit

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/internal/redistest"
)

func TestRedis_ServerDown_ReturnsErrorNotAllow(t *testing.T) {
	// A port that was free a moment ago: nothing answers there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()

	d, err := NewRedis(c, "down:").Allow(context.Background(), "key-1", Limit{Requests: 50, Window: time.Minute})
	if err == nil || d.Allowed {
		t.Fatalf("Allow with Redis down = %+v, %v; want an error and not allowed", d, err)
	}
}

func TestRedis_ServerGoesAway_ReturnsError(t *testing.T) {
	opts, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	// The limiter reaches Redis through a proxy the test can cut, as a crash or a
	// network partition would.
	p := startProxy(t, opts.Addr)
	opts.Addr, opts.MaxRetries, opts.DialTimeout = p.addr, -1, time.Second
	c := redis.NewClient(opts)
	defer c.Close()
	lim := NewRedis(c, "p:")
	l := Limit{Requests: 50, Window: time.Minute}
	if d, err := lim.Allow(context.Background(), "key-1", l); err != nil || !d.Allowed {
		t.Fatalf("Allow through the proxy = %+v, %v; want allowed", d, err)
	}
	p.stop()
	for i := range 3 { // pooled connections are dead too, not only new ones
		if d, err := lim.Allow(context.Background(), "key-1", l); err == nil || d.Allowed {
			t.Fatalf("Allow %d after Redis went away = %+v, %v; want an error and not allowed", i+1, d, err)
		}
	}
}

type proxy struct {
	addr   string
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

// startProxy forwards TCP connections to target until stop, which also cuts the
// connections open through it.
func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), ln: ln}
	t.Cleanup(p.stop)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			if p.closed { // accepted just before stop
				p.mu.Unlock()
				_, _ = in.Close(), out.Close()
				return
			}
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	return p
}

func (p *proxy) stop() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func TestRedis_AfterRetryAfter_OneMorePasses(t *testing.T) {
	lim := NewRedis(newRedisClient(t, redistest.URL(t)), "p:")
	ctx := context.Background()
	l := Limit{Requests: 2, Window: 400 * time.Millisecond}
	for range 2 {
		if d, err := lim.Allow(ctx, "key-1", l); err != nil || !d.Allowed {
			t.Fatalf("Allow = %+v, %v; want allowed", d, err)
		}
	}
	d, err := lim.Allow(ctx, "key-1", l)
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 200*time.Millisecond+rounding {
		t.Fatalf("3rd request = %+v, %v; want denied, 0 < RetryAfter ≤ 200ms", d, err)
	}
	time.Sleep(d.RetryAfter + 20*time.Millisecond)
	if d, err := lim.Allow(ctx, "key-1", l); err != nil || !d.Allowed {
		t.Fatalf("after RetryAfter = %+v, %v; want allowed", d, err)
	}
}

func TestRedis_StateIsOneKeyThatExpires(t *testing.T) {
	c := newRedisClient(t, redistest.URL(t))
	lim := NewRedis(c, "keyward:rl:")
	ctx := context.Background()
	if _, err := lim.Allow(ctx, "key-1", Limit{Requests: 10, Window: time.Minute}); err != nil {
		t.Fatalf("Allow: %v", err)
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil || len(keys) != 1 || keys[0] != "rate:keyward:rl:key-1" {
		t.Fatalf("keys = %v, %v; want [rate:keyward:rl:key-1]", keys, err)
	}
	// One request used: the allowance is whole again after one share of the window.
	ttl, err := c.TTL(ctx, keys[0]).Result()
	if err != nil || ttl <= 0 || ttl > 6*time.Second {
		t.Fatalf("TTL = %v, %v; want 0 < TTL ≤ 6s", ttl, err)
	}
}

func TestRedis_LimitRaised_UsedTimeStillCounts(t *testing.T) {
	lim := NewRedis(newRedisClient(t, redistest.URL(t)), "p:")
	ctx := context.Background()
	two, four := Limit{Requests: 2, Window: time.Minute}, Limit{Requests: 4, Window: time.Minute}
	for range 2 {
		_, _ = lim.Allow(ctx, "key-1", two)
	}
	// 60 s used of a 60 s allowance: 4/min needs 15 s more before the next request.
	d, err := lim.Allow(ctx, "key-1", four)
	if err != nil || d.Allowed || d.RetryAfter < 14*time.Second || d.RetryAfter > 15*time.Second+rounding {
		t.Fatalf("after raising 2/min to 4/min = %+v, %v; want denied for about 15s", d, err)
	}
}
