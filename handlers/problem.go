package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail,omitempty"`
	Errors []errs.FieldError `json:"errors,omitempty"`
}

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
		p.Type = "about:blank"
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
		case errors.As(err, &verr):
			writeProblem(c, problem{Title: "Bad Request", Status: http.StatusBadRequest,
				Detail: "the request has invalid fields", Errors: verr.Fields})
		case errors.Is(err, keys.ErrForbidden):
			writeProblem(c, problem{Title: "Forbidden", Status: http.StatusForbidden, Detail: forbiddenDetail(err)})
		case errors.Is(err, keys.ErrLimit):
			writeProblem(c, problem{Title: "Conflict", Status: http.StatusConflict, Detail: reasonAfter(err, keys.ErrLimit, "a configured limit is reached")})
		case errors.Is(err, models.ErrConflict):
			writeProblem(c, problem{Title: "Conflict", Status: http.StatusConflict,
				Detail: "the resource changed state: e.g. the key has already been rotated"})
		case isConflict(err):
			writeProblem(c, problem{Title: "Conflict", Status: http.StatusConflict, Detail: conflictText(err)})
		case errors.Is(err, models.ErrNotFound):
			writeProblem(c, problem{Title: "Not Found", Status: http.StatusNotFound, Detail: "no such resource"})
		case errors.Is(err, models.ErrAlreadyExists):
			writeProblem(c, problem{Title: "Conflict", Status: http.StatusConflict, Detail: "the resource exists already"})
		case errors.Is(err, keycloak.ErrUnavailable):
			log.Warn("keycloak unavailable", zap.String("request_id", requestID(c)), zap.Error(err))
			c.Header("Retry-After", "5")
			writeProblem(c, problem{Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
				Detail: "Keycloak cannot be reached; try again shortly"})
		case s.databaseDown(c):
			log.Warn("database unavailable", zap.String("request_id", requestID(c)), zap.Error(err))
			c.Header("Retry-After", "5")
			writeProblem(c, problem{Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
				Detail: "the database cannot be reached; try again shortly"})
		default:
			log.Error("internal error", zap.String("request_id", requestID(c)), zap.Error(err))
			writeProblem(c, problem{Title: "Internal Server Error", Status: http.StatusInternalServerError,
				Detail: "an internal error occurred; quote request id " + requestID(c)})
		}
	}
}

// forbiddenDetail keeps the reason the service gave, which names no secret.
func forbiddenDetail(err error) string {
	return reasonAfter(err, keys.ErrForbidden, "the caller may not do this")
}

// reasonAfter is the text a service wrote after "<sentinel>: ".
func reasonAfter(err, sentinel error, fallback string) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
		return msg[i+len(sentinel.Error())+2:]
	}
	return fallback
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
