package keycloak

// The realm's event feeds (admin REST API): user events (GET /events) and admin
// events (GET /admin-events), read in time order from a point in time. gocloak has
// no call for admin events and no event ids, hence plain requests.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// ErrEventsRefused: Keycloak refused to show the realm's events (the service account
// lacks realm-management view-events).
var ErrEventsRefused = errors.New("keycloak refused to show the realm's events: give the admin client's service account realm-management view-events")

// UserEvent is one entry of the realm's user events (login, logout, password update…).
type UserEvent struct {
	ID         string            `json:"id"`
	TimeMillis int64             `json:"time"`
	Type       string            `json:"type"`
	ClientID   string            `json:"clientId"`
	UserID     string            `json:"userId"`
	Details    map[string]string `json:"details"`
}

// AdminEvent is one entry of the realm's admin events (an admin API change).
type AdminEvent struct {
	ID            string `json:"id"`
	TimeMillis    int64  `json:"time"`
	OperationType string `json:"operationType"` // CREATE, UPDATE, DELETE, ACTION
	ResourceType  string `json:"resourceType"`  // USER, GROUP_MEMBERSHIP, REALM_ROLE_MAPPING…
	ResourcePath  string `json:"resourcePath"`  // e.g. users/<id>/groups/<group id>
	AuthDetails   struct {
		UserID   string `json:"userId"`
		ClientID string `json:"clientId"`
	} `json:"authDetails"`
}

// EventsConfig is what the realm stores of its events.
type EventsConfig struct {
	EventsEnabled      bool     `json:"eventsEnabled"`
	AdminEventsEnabled bool     `json:"adminEventsEnabled"`
	EventsExpiration   int64    `json:"eventsExpiration"` // seconds; 0: kept forever
	EnabledEventTypes  []string `json:"enabledEventTypes"`
}

// EventsConfig reads the realm's event settings.
func (c *Client) EventsConfig(ctx context.Context) (EventsConfig, error) {
	var cfg EventsConfig
	err := c.getAdminJSON(ctx, c.adminURL("events", "config"), nil, &cfg)
	return cfg, err
}

// UserEvents returns up to max user events of the given types from fromMillis on
// (inclusive), oldest first, skipping the first `first`.
func (c *Client) UserEvents(ctx context.Context, fromMillis int64, types []string, first, max int) ([]UserEvent, error) {
	q := feedQuery(fromMillis, first, max)
	for _, t := range types {
		q.Add("type", t)
	}
	var out []UserEvent
	err := c.getAdminJSON(ctx, c.adminURL("events"), q, &out)
	return out, err
}

// AdminEvents returns up to max admin events on the given resource types from
// fromMillis on (inclusive), oldest first, skipping the first `first`.
func (c *Client) AdminEvents(ctx context.Context, fromMillis int64, resourceTypes []string, first, max int) ([]AdminEvent, error) {
	q := feedQuery(fromMillis, first, max)
	for _, t := range resourceTypes {
		q.Add("resourceTypes", t)
	}
	var out []AdminEvent
	err := c.getAdminJSON(ctx, c.adminURL("admin-events"), q, &out)
	return out, err
}

func feedQuery(fromMillis int64, first, max int) url.Values {
	q := url.Values{"direction": {"asc"}, "first": {strconv.Itoa(first)}, "max": {strconv.Itoa(max)}}
	if fromMillis > 0 {
		q.Set("dateFrom", strconv.FormatInt(fromMillis, 10)) // epoch millis, inclusive
	}
	return q
}

// getAdminJSON GETs an admin API URL as Keyward's service account and decodes the answer.
func (c *Client) getAdminJSON(ctx context.Context, u string, q url.Values, out any) error {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return err
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%w: read events: %v", ErrUnavailable, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return ErrEventsRefused
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: events answered %d", ErrUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("events answered %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("events answer is not the expected JSON: %w", err)
	}
	return nil
}
