package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
)

// The key comes from the environment (KEYWARD_URL, KEYWARD_API_KEY); the *http.Client
// sets a current Keycloak access token on every request.
func Example() {
	ts, err := client.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	resp, err := ts.Client(context.Background()).Get("http://127.0.0.1:8090/hello")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
}

// Deciding what to do when no token can be had.
func Example_errors() {
	ts, err := client.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	_, err = ts.Token()
	var kerr *client.Error
	switch {
	case errors.Is(err, client.ErrInvalidKey):
		log.Fatal("the API key was refused: create a new one") // retrying will not help
	case errors.Is(err, client.ErrRateLimited) && errors.As(err, &kerr):
		time.Sleep(kerr.RetryAfter)
	case errors.Is(err, client.ErrUnavailable):
		// retry with backoff
	}
}

// The management API with a person's Keycloak token (here from an oauth2.Config of the
// realm's public client): create a key and list the caller's keys.
func ExampleNewManager() {
	var userTokens oauth2.TokenSource // e.g. (&oauth2.Config{…}).TokenSource(ctx, refreshed)
	m, err := client.NewManager(client.ManagerConfig{URL: "https://keyward.example.com", TokenSource: userTokens})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	days := 90
	created, err := m.CreateKey(ctx, client.KeyCreate{Name: "ci", ExpiresInDays: &days, Scopes: []string{"profile"}})
	var apiErr *client.APIError
	switch {
	case errors.Is(err, client.ErrInvalid) && errors.As(err, &apiErr):
		log.Fatalf("fix the request: %v", apiErr.Fields) // one entry per refused field
	case err != nil:
		log.Fatal(err) // one line, e.g. "only admins create keys for other users (HTTP 403)"
	}
	fmt.Println(created.Plaintext) // shown this once
	page, err := m.ListKeys(ctx, client.KeyQuery{Status: "active"})
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range page.Items {
		fmt.Println(k.Name, k.Prefix, k.Status)
	}
}
