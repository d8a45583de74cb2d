package mail

import (
	"fmt"
	"strings"
	"time"
)

// KeyInfo names a key in a mail: never its secret.
type KeyInfo struct {
	ID        string
	Name      string
	Prefix    string // the public part, e.g. kw_live_AbCdEf123456
	ExpiresAt time.Time
	// ConsoleURL is <KEYWARD_PUBLIC_URL>/keys/<id>, where it can be rotated.
	ConsoleURL string
}

// ExpiryReminder is the mail sent daysLeft days before a key expires.
func ExpiryReminder(to string, k KeyInfo, daysLeft int) Message {
	when := map[bool]string{true: "tomorrow", false: fmt.Sprintf("in %d days", daysLeft)}[daysLeft <= 1]
	var b strings.Builder
	fmt.Fprintf(&b, "Your Keyward API key %q (%s…) expires %s, on %s.\n\n", k.Name, k.Prefix, when,
		k.ExpiresAt.UTC().Format("Monday 2 January 2006 at 15:04 UTC"))
	fmt.Fprintf(&b, "Programs that use it will stop getting tokens then. Rotate it before that:\n\n    %s\n\n", k.ConsoleURL)
	b.WriteString("Rotating gives you a new key and keeps the old one working for a grace period, so you can\n" +
		"swap it in without downtime. If the key is no longer used, let it expire or revoke it there.\n\n" +
		"-- Keyward\n")
	return Message{To: to, Subject: fmt.Sprintf("Your API key %q expires %s", k.Name, when), Text: b.String()}
}

// Leak is what a leak notice says besides the key: only what Keyward knows, and at
// most the host a configured reporter signed for. The reporter's URL path and query,
// its free text, and anything from an unsigned report never reach the mail: a
// report's words mailed from Keyward would be a phishing mail from a trusted sender.
type Leak struct {
	Action string    // "revoke" or "disable": what Keyward did
	At     time.Time // when it did it
	// ReportedHost is the host of a signed report's URL, already checked to be a DNS
	// name or an IP address in ASCII; "" says nothing.
	ReportedHost string
}

// LeakNotice is the mail sent when a secret scanner reported a key of the owner.
func LeakNotice(to string, k KeyInfo, l Leak) Message {
	done := map[string]string{"revoke": "revoked", "disable": "disabled"}[l.Action]
	var b strings.Builder
	fmt.Fprintf(&b, "Your Keyward API key %q (%s…) was reported found in public, and Keyward %s it on %s.\n\n",
		k.Name, k.Prefix, done, l.At.UTC().Format("Monday 2 January 2006 at 15:04 UTC"))
	if l.ReportedHost != "" {
		fmt.Fprintf(&b, "Reported location (unverified): %s\n\n", l.ReportedHost)
	}
	fmt.Fprintf(&b, "Anyone who saw it could have used it until then. Create a new key for the programs that\n"+
		"used this one, and check the key's recent use:\n\n    %s\n\n-- Keyward\n", k.ConsoleURL)
	return Message{To: to, Subject: fmt.Sprintf("Your API key %q was found in public and %s", k.Name, done), Text: b.String()}
}
