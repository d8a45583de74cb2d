package config

import (
	"net/url"
	"os"
	"strings"
	"time"
)

// Events is the configuration of what Keyward does on Keycloak's events, of expiry
// reminders and of leaked-key reports (docs/administering/audit.md).
type Events struct {
	// PollInterval is how often the realm's event feeds are read.
	PollInterval time.Duration
	// OnCredentialReset: "none" or "disable" (the user's keys, after a password reset
	// or a sign-out everywhere).
	OnCredentialReset string
	// SMTPURL is smtp://[user:password@]host[:port] (STARTTLS when offered) or
	// smtps://… (TLS from the start); "" turns mail off. It may hold a password: no
	// message repeats it.
	SMTPURL  string
	MailFrom string
	// ReminderInterval is how often keys are checked for coming expiries.
	ReminderInterval time.Duration
	// LeakAction: "revoke" or "disable" a key reported leaked.
	LeakAction string
	// LeakReporterKeysFile: PEM public keys of secret-scanning reporters; when set,
	// reports must be signed by one of them.
	LeakReporterKeysFile string
}

// checkEvents checks what of Events the generic pass does not: the mail settings
// together, and the reporters' keys file.
func (c Config) checkEvents(bad func(string, ...any)) {
	if c.Events.SMTPURL != "" {
		// The URL may hold a password: no message repeats it.
		u, err := url.Parse(c.Events.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
			bad("KEYWARD_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://[user:password@]host[:port]")
		} else if q := u.Query(); len(q) > 0 {
			bad("KEYWARD_SMTP_URL takes no query options")
		}
		if !strings.Contains(c.Events.MailFrom, "@") {
			bad("KEYWARD_MAIL_FROM %q must be a mail address when KEYWARD_SMTP_URL is set", c.Events.MailFrom)
		}
	}
	if f := c.Events.LeakReporterKeysFile; f != "" {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			bad("KEYWARD_LEAK_REPORTER_KEYS_FILE %q is not a readable file", f)
		}
	}
}
