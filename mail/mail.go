// Package mail sends Keyward's mails (expiry reminders, leaked-key notices) over SMTP
// with github.com/wneessen/go-mail, and words them. A mail never holds key material:
// it names a key by its name and public prefix.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one plain-text mail to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Sender sends a message; a nil Sender means mail is off.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through one SMTP server.
type SMTP struct {
	host string
	from string
	opts []gomail.Option
}

// NewSMTP reads an smtp:// or smtps:// URL (config.Validate checked its shape):
//
//	smtp://host[:port]             port 587 by default; STARTTLS when the server offers it
//	smtp://user:password@host      the same, but STARTTLS required (no password in clear)
//	smtps://[user:password@]host   TLS from the first byte, port 465 by default
//
// Errors never repeat the URL: it may hold a password.
func NewSMTP(rawURL, from string, timeout time.Duration) (*SMTP, error) {
	return newSMTP(rawURL, from, timeout, nil)
}

// newSMTP is NewSMTP with the TLS configuration given (tests trust their own CA);
// nil: the system's roots, for the URL's host.
func newSMTP(rawURL, from string, timeout time.Duration, tlsConf *tls.Config) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("mail: the SMTP URL must be smtp://host[:port] or smtps://host[:port]")
	}
	opts := []gomail.Option{gomail.WithTimeout(timeout)}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, errors.New("mail: the SMTP URL's port is not a port number")
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if tlsConf != nil {
		opts = append(opts, gomail.WithTLSConfig(tlsConf))
	}
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(user), gomail.WithPassword(pass))
		if u.Scheme == "smtp" {
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		}
	} else if u.Scheme == "smtp" {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	return &SMTP{host: u.Hostname(), from: from, opts: opts}, nil
}

// Send delivers m, in one SMTP session.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return nil
}
