package handlers

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/provisioning"
)

type aclGroupRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type aclGroupResponse struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Path        string `json:"path"`
	KeycloakID  string `json:"keycloak_id"`
}

func toACLGroupResponse(g provisioning.ACLGroup) aclGroupResponse {
	return aclGroupResponse{Name: g.Name, Description: g.Description, Path: g.Path, KeycloakID: g.ID}
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
	replyToBody(c, http.StatusCreated, func(req aclGroupRequest) (provisioning.ACLGroup, error) {
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
	aclGroup := object(map[string]*openapi3.SchemaRef{
		"name":        describe(a.groupName.Value.NewRef(), "the group's name, as tokens carry it in acl_groups"),
		"description": a.keycloakDescription,
		"path":        str("the Keycloak group path, e.g. /keyward-acl/analytics"),
		"keycloak_id": str("Keycloak's group id"),
	}, "name", "description", "path", "keycloak_id")
	doc.Paths.Set("/v1/acl-groups", &openapi3.PathItem{
		Get: a.op("listACLGroups", "List the ACL groups (Keycloak groups under the ACL parent); takes no parameter", nil, nil,
			resp{status: 200, desc: "every ACL group; next_cursor is always null", schema: listSchema(aclGroup)}, a.badQuery),
		Post: a.op("createACLGroup", "Create an ACL group in Keycloak", requestObject(map[string]*openapi3.SchemaRef{
			"name":        a.groupName,
			"description": safeIn(a.keycloakDescription, true),
		}, "name"), nil, resp{status: 201, desc: "created", schema: aclGroup},
			problemResp(409, "a group of that name exists, or the ACL parent group carries roles (its own or inherited)")),
	})
	doc.Paths.Set("/v1/acl-groups/{name}", &openapi3.PathItem{
		Delete: a.op("deleteACLGroup", "Delete an ACL group", nil,
			openapi3.Parameters{{Value: openapi3.NewPathParameter("name").WithSchema(openapi3.NewStringSchema())}},
			resp{status: 204, desc: "deleted from Keycloak"}, a.notFound,
			problemResp(409, "a consumer uses the group, or it has members in Keycloak")),
	})
}
