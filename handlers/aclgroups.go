package handlers

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/provisioning"
)

func toACLGroupResponse(g provisioning.ACLGroup) api.ACLGroup {
	return api.ACLGroup{Name: g.Name, Description: g.Description, Path: g.Path, KeycloakID: g.ID}
}

func (s *server) listACLGroups(c *gin.Context) {
	if _, err := queryParams(c); err != nil {
		_ = c.Error(err)
		return
	}
	groups, err := s.Provisioning.ListACLGroups(c.Request.Context())
	replyList(c, groups, "", err, toACLGroupResponse) // one page: Keycloak lists the groups whole
}

func (s *server) createACLGroup(c *gin.Context) {
	replyToBody(c, http.StatusCreated, func(req api.ACLGroupCreate) (provisioning.ACLGroup, error) {
		return s.Provisioning.CreateACLGroup(c.Request.Context(), s.actor(c),
			provisioning.ACLGroupInput{Name: req.Name, Description: req.Description})
	}, toACLGroupResponse)
}

func (s *server) deleteACLGroup(c *gin.Context) {
	replyDeleted(c, s.Provisioning.DeleteACLGroup(c.Request.Context(), s.actor(c), c.Param("name")))
}

// --- OpenAPI ---

// aclGroupPaths documents the ACL group routes.
func aclGroupPaths(doc *openapi3.T, a adminDoc) {
	aclGroup := responseSchema[api.ACLGroup]()
	doc.Paths.Set("/v1/acl-groups", &openapi3.PathItem{
		Get: a.op("listACLGroups", "List the ACL groups (Keycloak groups under the ACL parent); takes no parameter", nil, nil,
			resp{status: 200, desc: "every ACL group; next_cursor is always null", schema: responseSchema[api.Page[api.ACLGroup]]()}, a.badQuery),
		Post: a.op("createACLGroup", "Create an ACL group in Keycloak", requestSchema[api.ACLGroupCreate](), nil, resp{status: 201, desc: "created", schema: aclGroup},
			problemResp(409, "a group of that name exists, or the ACL parent group carries roles (its own or inherited)")),
	})
	doc.Paths.Set("/v1/acl-groups/{name}", &openapi3.PathItem{
		Delete: a.op("deleteACLGroup", "Delete an ACL group", nil,
			openapi3.Parameters{{Value: openapi3.NewPathParameter("name").WithSchema(openapi3.NewStringSchema())}},
			resp{status: 204, desc: "deleted from Keycloak"}, a.notFound,
			problemResp(409, "a consumer uses the group, or it has members in Keycloak")),
	})
}
