package handlers

import (
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// adminRoutes registers the admin-only routes (consumers, ACL groups, clients); g already
// requires the admin realm role.
func (s *server) adminRoutes(g *gin.RouterGroup) {}

// adminPaths documents adminRoutes in the OpenAPI document.
func adminPaths(doc *openapi3.T) {}
