// Package smtpsink is a real SMTP server for tests (built from go-smtp) that stores
// each message it accepts as a file in a directory, and the test side that reads
// them. scripts/test.sh runs it as its own process (cmd/smtp-sink) and exports
// KEYWARD_TEST_SMTP_URL and KEYWARD_TEST_SMTP_DIR.
//
// A recipient whose local part starts with "reject-once-" is refused with a
// temporary error the first time it is named, so tests can watch a retry.
package smtpsink

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/keyward/keyward/internal/testkit"
)

// RejectOncePrefix marks a recipient refused once, temporarily.
const RejectOncePrefix = "reject-once-"

// Serve accepts SMTP on ln and stores messages in dir until ln is closed.
func Serve(ln net.Listener, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b := &backend{dir: dir, rejected: map[string]bool{}}
	s := smtp.NewServer(b)
	s.Domain = "smtp-sink.test"
	s.ReadTimeout, s.WriteTimeout = 30*time.Second, 30*time.Second
	s.MaxMessageBytes = 1 << 20
	s.MaxRecipients = 10
	s.AllowInsecureAuth = true
	return s.Serve(ln)
}

type backend struct {
	dir      string
	mu       sync.Mutex
	rejected map[string]bool
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b    *backend
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(strings.ToLower(to), RejectOncePrefix) {
		s.b.mu.Lock()
		first := !s.b.rejected[to]
		s.b.rejected[to] = true
		s.b.mu.Unlock()
		if first {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var head strings.Builder
	fmt.Fprintf(&head, "X-Sink-From: %s\r\n", s.from)
	for _, to := range s.to {
		fmt.Fprintf(&head, "X-Sink-Rcpt: %s\r\n", to)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%020d-%s.eml", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	tmp := filepath.Join(s.b.dir, "."+name)
	if err := os.WriteFile(tmp, append([]byte(head.String()), body...), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.b.dir, name)) // readers never see half a message
}

// Message is a stored message.
type Message struct {
	Recipients []string
	Header     mail.Header
	Body       string
	Raw        string
}

// Sink is the test side: where the running sink listens and stores.
type Sink struct {
	URL string // smtp://127.0.0.1:port
	Dir string
}

// Require returns the sink scripts/test.sh started (skip or fail as testkit.Require).
func Require(t testing.TB) Sink {
	t.Helper()
	u := testkit.Require(t, "KEYWARD_TEST_SMTP_URL", "SMTP", "run `make test` (scripts/test.sh starts the SMTP sink)")
	d := testkit.Require(t, "KEYWARD_TEST_SMTP_DIR", "SMTP", "run `make test` (scripts/test.sh starts the SMTP sink)")
	return Sink{URL: u, Dir: d}
}

// To returns the stored messages addressed to rcpt, oldest first.
func (s Sink) To(t testing.TB, rcpt string) []Message {
	t.Helper()
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		t.Fatalf("read the sink's directory: %v", err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".eml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []Message
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(s.Dir, n))
		if err != nil {
			t.Fatal(err)
		}
		m, err := parse(string(raw))
		if err != nil {
			t.Fatalf("stored message %s: %v", n, err)
		}
		for _, r := range m.Recipients {
			if strings.EqualFold(r, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func parse(raw string) (Message, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		return Message{}, err
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header, Body: string(body), Raw: raw}
	m.Recipients = msg.Header["X-Sink-Rcpt"]
	if len(m.Recipients) == 0 {
		return Message{}, errors.New("no X-Sink-Rcpt")
	}
	return m, nil
}
