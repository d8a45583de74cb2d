package mail

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestNewSMTP_RefusesWhatIsNoSMTPURL_WithoutRepeatingIt(t *testing.T) {
	for _, u := range []string{"http://u:hunter2hunter2@h", "smtp://", "smtp://u:hunter2hunter2@h:99999", "smtps://h:port"} {
		_, err := NewSMTP(u, "keyward@example.test", time.Second)
		if err == nil {
			t.Errorf("%s accepted", u)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error repeats the password: %v", u, err)
		}
	}
}

// TestSend_ServerDown_ErrorWithoutPassword: a refused connection is an error that
// names no credential.
func TestSend_ServerDown_ErrorWithoutPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	s, err := NewSMTP("smtp://mailer:hunter2hunter2@"+addr, "keyward@example.test", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), Message{To: "alice@example.test", Subject: "s", Text: "t"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("send to a closed port: %v", err)
	}
}

func TestWords_NameTheKeyAndLink_NoSecret(t *testing.T) {
	k := KeyInfo{ID: "id-1", Name: "ci", Prefix: "kw_live_AbCdEf123456", ExpiresAt: time.Date(2027, 1, 2, 3, 4, 0, 0, time.UTC),
		ConsoleURL: "https://k.example/keys/id-1"}
	for _, m := range []Message{ExpiryReminder("a@example.test", k, 7), ExpiryReminder("a@example.test", k, 1),
		LeakNotice("a@example.test", k, Leak{Action: "revoke", At: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)})} {
		for _, part := range []string{`"ci"`, k.Prefix, k.ConsoleURL} {
			if !strings.Contains(m.Text, part) {
				t.Errorf("%q lacks %q:\n%s", m.Subject, part, m.Text)
			}
		}
	}
	if m := ExpiryReminder("a@example.test", k, 7); !strings.Contains(m.Text, "Saturday 2 January 2027 at 03:04 UTC") {
		t.Errorf("expiry not named: %s", m.Text)
	}
}

// A leak notice says what Keyward did and when, and the reported host only when it is
// given, labelled unverified.
func TestLeakNotice_WhatKeywardKnows(t *testing.T) {
	k := KeyInfo{ID: "id-1", Name: "ci", Prefix: "kw_live_AbCdEf123456", ConsoleURL: "https://k.example/keys/id-1"}
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	m := LeakNotice("a@example.test", k, Leak{Action: "disable", At: at})
	if !strings.Contains(m.Text, "disabled it on Tuesday 1 December 2026 at 08:30 UTC") || strings.Contains(m.Text, "eported location") {
		t.Errorf("unsigned notice:\n%s", m.Text)
	}
	m = LeakNotice("a@example.test", k, Leak{Action: "revoke", At: at, ReportedHost: "github.com"})
	if !strings.Contains(m.Text, "revoked it on") || !strings.Contains(m.Text, "Reported location (unverified): github.com\n") {
		t.Errorf("signed notice:\n%s", m.Text)
	}
}
