package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
)

// problem is an RFC 9457 problem document.
type problem = api.Problem

// apiError is an error a handler chose to show the caller; anything else is internal.
type apiError struct {
	status int
	title  string
	detail string
	fields []errs.FieldError
}

func (e *apiError) Error() string { return e.title + ": " + e.detail }

func newAPIError(status int, title, detail string) *apiError {
	return &apiError{status: status, title: title, detail: detail}
}

func badRequest(detail string) *apiError {
	return newAPIError(http.StatusBadRequest, "Bad Request", detail)
}

func writeProblem(c *gin.Context, p problem) {
	if p.Type == "" {
		p.Type = api.ProblemType
	}
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(p.Status, p)
}

// errorMiddleware is the one place errors become HTTP answers: handlers call c.Error
// and return. Only unexpected errors are logged in full; their text never leaves.
func (s *server) errorMiddleware() gin.HandlerFunc {
	log := s.Log
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		err := c.Errors.Last().Err
		var (
			aerr *apiError
			verr *errs.Validation
		)
		switch {
		case errors.As(err, &aerr):
			writeProblem(c, problem{Title: aerr.title, Status: aerr.status, Detail: aerr.detail, Errors: aerr.fields})
			return
		case errors.As(err, &verr):
			writeProblem(c, problem{Title: "Bad Request", Status: http.StatusBadRequest,
				Detail: "the request has invalid fields", Errors: verr.Fields})
			return
		}
		kind, detail := errs.KindOf(err), errs.MessageOf(err)
		if kind == errs.Internal && s.databaseDown(c) {
			kind, detail = errs.Unavailable, "the database cannot be reached; try again shortly"
		}
		status := errs.HTTPStatus(kind)
		switch kind {
		case errs.Internal:
			log.Error("internal error", zap.String("request_id", requestID(c)), zap.Error(err))
			detail = "an internal error occurred; quote request id " + requestID(c)
		case errs.Unavailable:
			log.Warn("dependency unavailable", zap.String("request_id", requestID(c)), zap.Error(err))
			c.Header("Retry-After", "5")
		}
		writeProblem(c, problem{Title: http.StatusText(status), Status: status, Detail: detail})
	}
}

// databaseDown tells an outage from a bug when an unexpected error reaches the top:
// if the database does not answer a ping, the caller gets 503, not 500.
func (s *server) databaseDown(c *gin.Context) bool {
	if s.Database == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	return s.Database.Ping(ctx) != nil
}
