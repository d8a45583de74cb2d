// Package ginmw puts the Keycloak token middleware in front of gin routes. It is a thin
// adapter over middleware.Verifier.Middleware, kept apart so that net/http users of
// package middleware do not compile gin.
package ginmw

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/middleware"
)

// Authenticate lets a request through only with a valid bearer access token meeting
// opts, and answers as middleware.Verifier.Middleware does otherwise. Handlers read the
// claims with middleware.ClaimsFromContext(c.Request.Context()).
func Authenticate(v *middleware.Verifier, opts ...middleware.Option) gin.HandlerFunc {
	check := v.Middleware(opts...)
	return func(c *gin.Context) {
		passed := false
		check(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r // carries the claims
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort() // the answer is written already
			return
		}
		c.Next()
	}
}
