package handlers

import (
	"net/http"

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
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeList(c, groups, "", toACLGroupResponse) // one page: Keycloak lists the groups whole
}

func (s *server) createACLGroup(c *gin.Context) {
	withBody(c, func(req aclGroupRequest) error {
		g, err := s.Provisioning.CreateACLGroup(c.Request.Context(), s.actor(c),
			provisioning.ACLGroupInput{Name: req.Name, Description: req.Description})
		if err != nil {
			return err
		}
		answer(c, http.StatusCreated, toACLGroupResponse(g))
		return nil
	})
}

func (s *server) deleteACLGroup(c *gin.Context) {
	if err := s.Provisioning.DeleteACLGroup(c.Request.Context(), s.actor(c), c.Param("name")); err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}
