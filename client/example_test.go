package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

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
