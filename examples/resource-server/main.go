// Command resource-server is a small API protected by Keycloak access tokens through
// package middleware: what a team's own service looks like once Keyward hands its users
// tokens for their API keys. It knows nothing of Keyward.
//
//	GET /hello                    any valid access token of the realm
//	GET /engineering/reports      only tokens whose acl_groups names engineering
//	GET /engineering/reports.csv  the same as CSV, as spreadsheets and pandas read it
//
// Settings: KEYCLOAK_ISSUER (default http://127.0.0.1:8180/realms/keyward, the dev
// realm of `make run`), API_AUDIENCE (default demo-api; empty to skip the check),
// LISTEN_ADDR (default 127.0.0.1:8090).
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/keyward/keyward/middleware"
)

func main() {
	v, err := middleware.NewVerifier(middleware.Config{
		Issuer:   getenv("KEYCLOAK_ISSUER", "http://127.0.0.1:8180/realms/keyward"),
		Audience: getenvAllowEmpty("API_AUDIENCE", "demo-api"),
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Addr:              getenv("LISTEN_ADDR", "127.0.0.1:8090"),
		Handler:           newAPI(v),
		ReadHeaderTimeout: 5 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("resource server on http://%s (GET /hello, GET /engineering/reports, GET /engineering/reports.csv)", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// newAPI wires the routes, each behind the middleware with its own requirement.
func newAPI(v *middleware.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware()(http.HandlerFunc(hello)))
	mux.Handle("GET /engineering/reports",
		v.Middleware(middleware.RequireGroup("engineering"))(http.HandlerFunc(reports)))
	mux.Handle("GET /engineering/reports.csv",
		v.Middleware(middleware.RequireGroup("engineering"))(http.HandlerFunc(reportsCSV)))
	return mux
}

// hello tells the caller who the token says they are.
func hello(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClaimsFromContext(r.Context())
	writeJSON(w, map[string]any{
		"subject":    c.Subject,
		"username":   c.Username,
		"acl_groups": c.ACLGroups,
		"client":     c.AuthorizedParty,
	})
}

// reportNames stand for data only the engineering group may read.
var reportNames = []string{"build-times-2026-q1", "incident-review-42"}

func reports(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClaimsFromContext(r.Context())
	writeJSON(w, map[string]any{"reader": c.Username, "reports": reportNames})
}

// reportsCSV is what an analyst's spreadsheet or pandas.read_csv loads.
func reportsCSV(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	out := csv.NewWriter(w)
	_ = out.Write([]string{"report", "reader"})
	for _, name := range reportNames {
		_ = out.Write([]string{name, c.Username})
	}
	out.Flush()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// getenvAllowEmpty tells an unset variable (default) from one set to "" (off).
func getenvAllowEmpty(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
