// Package models owns Keyward's persistence: the gorm models, their migrations and
// the Store that reads and writes them on SQLite (embedded, for development) or
// PostgreSQL (production). It knows nothing of HTTP or Keycloak; callers decide on
// outcomes through the sentinel errors ErrNotFound and ErrAlreadyExists. It owns the
// columns' encodings (space-separated lists, a key's rate-limit pair) and persists what
// the services decide; the services hand their callers typed values, never these rows.
package models
