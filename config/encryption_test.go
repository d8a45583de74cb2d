package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfig_EncryptionKey_BadValues_NamedWithoutTheKey(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("sixteen-bytes-ky"))
	good := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	cases := []struct {
		name, want string
		kv         []string
	}{
		{"not base64", "KEYWARD_ENCRYPTION_KEY must be 32 bytes in base64", []string{"KEYWARD_ENCRYPTION_KEY", "not*base64*at*all"}},
		{"16 bytes", "decodes to 16 bytes", []string{"KEYWARD_ENCRYPTION_KEY", short}},
		{"both", "are both set", []string{"KEYWARD_ENCRYPTION_KEY", good, "KEYWARD_ENCRYPTION_KEY_FILE", "/etc/kw-key"}},
		{"file absent", "KEYWARD_ENCRYPTION_KEY_FILE \"/nonexistent/kw-key\" must be a readable regular file",
			[]string{"KEYWARD_ENCRYPTION_KEY_FILE", "/nonexistent/kw-key"}},
		{"rotation too short", "KEYWARD_SIGNING_KEY_ROTATION \"1m\" must be a duration between 1h0m0s", []string{"KEYWARD_SIGNING_KEY_ROTATION", "1m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(nil, env(with(valid(t), tc.kv...)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), good) {
				t.Fatal("the message repeats the key")
			}
		})
	}
}

func TestConfig_EncryptionKey_Defaults(t *testing.T) {
	dir := t.TempDir()
	c, err := loadConfig(nil, env(with(valid(t), "KEYWARD_DATA_DIR", dir)))
	if err != nil {
		t.Fatal(err)
	}
	if c.EncryptionKeyFile != filepath.Join(dir, "encryption-key") || !c.EncryptionKeyGenerated() ||
		c.SigningKeyRotation != 720*time.Hour || c.SigningKeyFileGiven {
		t.Fatalf("defaults: file %q generated %v rotation %v key file given %v",
			c.EncryptionKeyFile, c.EncryptionKeyGenerated(), c.SigningKeyRotation, c.SigningKeyFileGiven)
	}
	file := filepath.Join(dir, "kek")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = loadConfig(nil, env(with(valid(t), "KEYWARD_ENCRYPTION_KEY_FILE", file)))
	if err != nil || c.EncryptionKeyGenerated() {
		t.Fatalf("an operator's key file: %v, generated %v", err, c.EncryptionKeyGenerated())
	}
}
