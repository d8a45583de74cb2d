package ginmw_test

import (
	"log"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/middleware"
	"github.com/keyward/keyward/middleware/ginmw"
)

func ExampleAuthenticate() {
	v, err := middleware.NewVerifier(middleware.Config{Issuer: "http://127.0.0.1:8180/realms/keyward"})
	if err != nil {
		log.Fatal(err)
	}
	r := gin.New()
	r.GET("/reports", ginmw.Authenticate(v, middleware.RequireGroup("engineering")), func(c *gin.Context) {
		claims, _ := middleware.ClaimsFromContext(c.Request.Context())
		c.JSON(http.StatusOK, gin.H{"reader": claims.Username})
	})
	log.Fatal(r.Run("127.0.0.1:8090"))
}
