package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

type consumerRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Environment string   `json:"environment"`
	ACLGroups   []string `json:"acl_groups"`
}

// consumerPatchRequest: absent (or null) fields stay as they are.
type consumerPatchRequest struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Environment *string   `json:"environment"`
	ACLGroups   *[]string `json:"acl_groups"`
}

type consumerResponse struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Environment string    `json:"environment"`
	ACLGroups   []string  `json:"acl_groups"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toConsumerResponse(c models.Consumer) consumerResponse {
	groups := c.ACLGroups
	if groups == nil {
		groups = []string{}
	}
	return consumerResponse{ID: c.ID, Name: c.Name, Description: c.Description, Environment: c.Environment,
		ACLGroups: groups, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func (s *server) createConsumer(c *gin.Context) {
	withBody(c, func(req consumerRequest) error {
		cons, err := s.Provisioning.CreateConsumer(c.Request.Context(), s.actor(c), provisioning.ConsumerInput{
			Name: req.Name, Description: req.Description, Environment: req.Environment, ACLGroups: req.ACLGroups,
		})
		if err != nil {
			return err
		}
		c.Header("Location", "/v1/consumers/"+cons.ID)
		answer(c, http.StatusCreated, toConsumerResponse(cons))
		return nil
	})
}

func (s *server) listConsumers(c *gin.Context) {
	q, err := queryParams(c, "q", "environment", "sort", "limit", "cursor")
	if err != nil {
		_ = c.Error(err)
		return
	}
	var f []errs.FieldError
	limit := limitParam(q, &f)
	if len(f) > 0 {
		_ = c.Error(&errs.Validation{Fields: f})
		return
	}
	page, err := s.Provisioning.ListConsumers(c.Request.Context(), provisioning.ConsumerQuery{
		Q: q.Get("q"), Environment: q.Get("environment"), Sort: q.Get("sort"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeList(c, page.Items, page.NextCursor, toConsumerResponse)
}

func (s *server) getConsumer(c *gin.Context) {
	cons, err := s.Provisioning.Consumer(c.Request.Context(), c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	answer(c, http.StatusOK, toConsumerResponse(cons))
}

func (s *server) updateConsumer(c *gin.Context) {
	withBody(c, func(req consumerPatchRequest) error {
		cons, err := s.Provisioning.UpdateConsumer(c.Request.Context(), s.actor(c), c.Param("id"), provisioning.ConsumerPatch{
			Name: req.Name, Description: req.Description, Environment: req.Environment, ACLGroups: req.ACLGroups,
		})
		if err != nil {
			return err
		}
		answer(c, http.StatusOK, toConsumerResponse(cons))
		return nil
	})
}

func (s *server) deleteConsumer(c *gin.Context) {
	q, err := queryParams(c, "cascade")
	if err != nil {
		_ = c.Error(err)
		return
	}
	var f []errs.FieldError
	cascade := boolParam(q, "cascade", &f)
	if len(f) > 0 {
		_ = c.Error(&errs.Validation{Fields: f})
		return
	}
	err = s.Provisioning.DeleteConsumer(c.Request.Context(), s.actor(c), c.Param("id"), cascade != nil && *cascade)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}
