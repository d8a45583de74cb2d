package middleware_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/keyward/keyward/middleware"
)

// A net/http API: one route for any valid token of the realm, one for the ACL group
// engineering only.
func Example() {
	v, err := middleware.NewVerifier(middleware.Config{
		Issuer:   "http://127.0.0.1:8180/realms/keyward",
		Audience: "demo-api",
	})
	if err != nil {
		log.Fatal(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s, groups %v\n", claims.Username, claims.ACLGroups)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware()(hello))
	mux.Handle("GET /reports", v.Middleware(middleware.RequireGroup("engineering"))(hello))
	log.Fatal(http.ListenAndServe("127.0.0.1:8090", mux))
}
