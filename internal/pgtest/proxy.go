package pgtest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy in front of a PostgreSQL server that forwards everything but,
// when told to, the server's NotificationResponse messages: what a pooler in
// transaction mode (PgBouncer) does to a LISTEN connection while queries and pings
// still pass. It refuses TLS (answers SSLRequest and GSSENCRequest with 'N'), so the
// proxied DSN must not require it.
type Proxy struct {
	ln      net.Listener
	target  string
	drop    atomic.Bool
	dropped atomic.Int64
	passed  atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Protocol codes of the startup phase (PostgreSQL frontend/backend protocol).
const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	notificationType  = 'A'
)

// NewProxy starts a proxy to dsn's server (a postgres:// URL) and returns it with dsn
// pointed at it. It stops when t ends.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		t.Fatal("pgtest: NewProxy needs a postgres:// URL with a host") // never the DSN: it may hold a password
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(p.close)
	u.Host = ln.Addr().String()
	return p, u.String()
}

// DropNotifications makes the proxy drop (true) or forward (false) the server's
// notifications from now on, on every connection.
func (p *Proxy) DropNotifications(drop bool) { p.drop.Store(drop) }

// Dropped and Passed count the notifications dropped and forwarded so far.
func (p *Proxy) Dropped() int64 { return p.dropped.Load() }
func (p *Proxy) Passed() int64  { return p.passed.Load() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *Proxy) handle(client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	if !p.track(server) {
		return
	}
	fromClient := bufio.NewReader(client)
	if err := p.startup(fromClient, client, server); err != nil {
		return
	}
	go func() {
		_, _ = io.Copy(server, fromClient)
		_ = server.Close()
	}()
	_ = p.forwardBackend(bufio.NewReader(server), client)
}

// startup answers the client's encryption requests with 'N' and forwards its startup
// message, the one message without a type byte.
func (p *Proxy) startup(from *bufio.Reader, client, server net.Conn) error {
	for {
		var head [8]byte
		if _, err := io.ReadFull(from, head[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(head[:4])
		code := binary.BigEndian.Uint32(head[4:])
		if n == 8 && (code == sslRequestCode || code == gssEncRequestCode) {
			if _, err := client.Write([]byte{'N'}); err != nil {
				return err
			}
			continue
		}
		if n < 8 || n > 1<<16 {
			return errors.New("pgtest: proxy: not a startup message")
		}
		msg := make([]byte, n)
		copy(msg, head[:])
		if _, err := io.ReadFull(from, msg[8:]); err != nil {
			return err
		}
		_, err := server.Write(msg)
		return err
	}
}

// forwardBackend copies the server's typed messages (type byte, int32 length that
// counts itself) to the client, leaving out notifications while told to.
func (p *Proxy) forwardBackend(from *bufio.Reader, to net.Conn) error {
	for {
		var head [5]byte
		if _, err := io.ReadFull(from, head[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(head[1:])
		if n < 4 {
			return errors.New("pgtest: proxy: bad message length")
		}
		msg := make([]byte, 5+n-4)
		copy(msg, head[:])
		if _, err := io.ReadFull(from, msg[5:]); err != nil {
			return err
		}
		if head[0] == notificationType {
			if p.drop.Load() {
				p.dropped.Add(1)
				continue
			}
			p.passed.Add(1)
		}
		if _, err := to.Write(msg); err != nil {
			return err
		}
	}
}
