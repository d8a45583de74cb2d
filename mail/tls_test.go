package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The TLS policy against a real SMTP server (go-smtp) on loopback: STARTTLS when the
// server offers it, required with a password; smtps:// from the first byte; the
// password only ever sent inside TLS.

type tlsServer struct {
	mu       sync.Mutex
	received []string // what each accepted message's session saw: "tls=<bool> auth=<user>"
}

type tlsSession struct {
	srv  *tlsServer
	conn *smtp.Conn
	user string
}

func (s *tlsSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *tlsSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if _, isTLS := s.conn.TLSConnectionState(); !isTLS {
			return errors.New("a password outside TLS")
		}
		if user != "mailer" || pass != "hunter2hunter2" {
			return errors.New("bad credentials")
		}
		s.user = user
		return nil
	}), nil
}
func (s *tlsSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsSession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.received = append(s.srv.received, map[bool]string{true: "tls", false: "plain"}[isTLS]+" auth="+s.user)
	s.srv.mu.Unlock()
	return nil
}
func (s *tlsSession) Reset()        {}
func (s *tlsSession) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// serve starts a server: offerTLS makes it offer STARTTLS, implicit makes it TLS-only.
func serve(t *testing.T, srv *tlsServer, cert tls.Certificate, offerTLS, implicit bool) string {
	t.Helper()
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &tlsSession{srv: srv, conn: c}, nil }))
	s.Domain = "127.0.0.1"
	s.AllowInsecureAuth = true // the test's session itself refuses a password outside TLS
	if offerTLS || implicit {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var ln net.Listener
	var err error
	if implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return ln.Addr().String()
}

func TestSMTP_TLSPolicy(t *testing.T) {
	cert, pool := selfSigned(t)
	trust := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	msg := Message{To: "alice@example.test", Subject: "s", Text: "t"}
	for _, c := range []struct {
		name               string
		offerTLS, implicit bool
		url                string // %s: the address
		want               string // "" = refused
	}{
		{"smtp, STARTTLS offered, password", true, false, "smtp://mailer:hunter2hunter2@%s", "tls auth=mailer"},
		{"smtp, STARTTLS offered, no password", true, false, "smtp://%s", "tls auth="},
		{"smtp, no STARTTLS, no password: plain", false, false, "smtp://%s", "plain auth="},
		{"smtp, no STARTTLS, password: refused", false, false, "smtp://mailer:hunter2hunter2@%s", ""},
		{"smtps, password", false, true, "smtps://mailer:hunter2hunter2@%s", "tls auth=mailer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := &tlsServer{}
			addr := serve(t, srv, cert, c.offerTLS, c.implicit)
			s, err := newSMTP(strings.Replace(c.url, "%s", addr, 1), "keyward@example.test", 5*time.Second, trust)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), msg)
			srv.mu.Lock()
			got := strings.Join(srv.received, ",")
			srv.mu.Unlock()
			switch {
			case c.want == "" && (err == nil || got != ""):
				t.Fatalf("sent (%q, err %v); want a refusal before any password or message", got, err)
			case c.want != "" && (err != nil || got != c.want):
				t.Fatalf("got %q, err %v; want %q", got, err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error repeats the password: %v", err)
			}
		})
	}
}
