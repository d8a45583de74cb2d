package config

import (
	"flag"
	"net/url"
	"os"
	"strings"
	"time"
)

// Events is the configuration of what Keyward does on Keycloak's events, of expiry
// reminders and of leaked-key reports (README "Events from Keycloak", "For secret
// scanners").
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

type eventsRaw struct {
	poll, reminder string
}

// registerEvents declares the settings of Events on fs, with the environment's values.
func (c *Config) registerEvents(fs *flag.FlagSet, getenv func(string) string) *eventsRaw {
	raw := &eventsRaw{}
	text := func(dst *string, env, def, help string) {
		v := getenv(env)
		if v == "" {
			v = def
		}
		fs.StringVar(dst, flagName(env), v, help+" ["+env+"]")
	}
	text(&raw.poll, "KEYWARD_EVENTS_POLL_INTERVAL", "10s", "how often Keycloak's admin and user events are read (bounds how late a role change reaches cached tokens)")
	text(&c.Events.OnCredentialReset, "KEYWARD_ON_CREDENTIAL_RESET", "none", "what a password reset or sign-out everywhere in Keycloak does to the user's keys: none or disable")
	text(&c.Events.SMTPURL, "KEYWARD_SMTP_URL", "", "smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://… for expiry and leak mails; empty: no mail")
	text(&c.Events.MailFrom, "KEYWARD_MAIL_FROM", "", "sender address of Keyward's mails (required with KEYWARD_SMTP_URL)")
	text(&raw.reminder, "KEYWARD_REMINDER_INTERVAL", "15m", "how often keys are checked for expiry reminders (30, 7 and 1 days before, and at expiry)")
	text(&c.Events.LeakAction, "KEYWARD_LEAK_ACTION", "revoke", "what a valid leaked-key report does to the key: revoke or disable")
	text(&c.Events.LeakReporterKeysFile, "KEYWARD_LEAK_REPORTER_KEYS_FILE", "", "PEM file of secret-scanning reporters' ECDSA public keys (KEY-ID: header per block); when set, reports must be signed")
	return raw
}

// parseEvents turns the texts of Events' typed settings into values, keeping them for Validate.
func (c *Config) parseEvents(raw *eventsRaw) {
	for _, d := range []struct {
		env, text string
		dst       *time.Duration
	}{{"KEYWARD_EVENTS_POLL_INTERVAL", raw.poll, &c.Events.PollInterval}, {"KEYWARD_REMINDER_INTERVAL", raw.reminder, &c.Events.ReminderInterval}} {
		c.given[d.env] = d.text
		if v, err := time.ParseDuration(d.text); err == nil {
			*d.dst = v
		}
	}
}

// checkEvents checks Events.
func (c Config) checkEvents(bad func(string, ...any)) {
	for _, d := range []struct {
		env      string
		v        time.Duration
		min, max time.Duration
	}{
		{"KEYWARD_EVENTS_POLL_INTERVAL", c.Events.PollInterval, 100 * time.Millisecond, time.Hour},
		{"KEYWARD_REMINDER_INTERVAL", c.Events.ReminderInterval, 100 * time.Millisecond, 24 * time.Hour},
	} {
		text, ok := c.given[d.env]
		parsed, err := time.ParseDuration(text)
		unparsed := ok && err != nil
		if !unparsed && parsed != d.v { // changed after Load: the value is what counts
			text = d.v.String()
		}
		if unparsed || d.v < d.min || d.v > d.max {
			bad("%s %q must be a duration between %v and %v", d.env, text, d.min, d.max)
		}
	}
	if c.Events.OnCredentialReset != "none" && c.Events.OnCredentialReset != "disable" {
		bad("KEYWARD_ON_CREDENTIAL_RESET %q must be none or disable", c.Events.OnCredentialReset)
	}
	if c.Events.LeakAction != "revoke" && c.Events.LeakAction != "disable" {
		bad("KEYWARD_LEAK_ACTION %q must be revoke or disable", c.Events.LeakAction)
	}
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
