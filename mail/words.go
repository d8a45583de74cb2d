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

// LeakNotice is the mail sent when a secret scanner reported a key of the owner.
func LeakNotice(to string, k KeyInfo, action, foundAt, source string) Message {
	done := map[string]string{"revoke": "revoked", "disable": "disabled"}[action]
	var b strings.Builder
	fmt.Fprintf(&b, "Your Keyward API key %q (%s…) was found in public and has been %s.\n\n", k.Name, k.Prefix, done)
	if foundAt != "" {
		fmt.Fprintf(&b, "Where it was found: %s\n", foundAt)
	}
	if source != "" {
		fmt.Fprintf(&b, "Reported by: %s\n", source)
	}
	fmt.Fprintf(&b, "\nAnyone who saw it could have used it until now. Create a new key for the programs that\n"+
		"used this one, and check the key's recent use:\n\n    %s\n\n-- Keyward\n", k.ConsoleURL)
	return Message{To: to, Subject: fmt.Sprintf("Your API key %q was found in public and %s", k.Name, done), Text: b.String()}
}
