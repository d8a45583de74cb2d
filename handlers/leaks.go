package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/leaks"
)

// leakedRoute is where secret scanners report leaked keys (docs/administering/audit.md).
const leakedRoute = "/v1/keys/leaked"

// LeakService handles leaked-key reports.
type LeakService interface {
	Admit(ctx context.Context, clientIP string, body []byte, keyID, signature string) (leaks.Admission, error)
	Handle(ctx context.Context, a audit.Actor, adm leaks.Admission, reports []leaks.Report) ([]leaks.Verdict, error)
}

// leakedHandler is nil when no leak service is wired: the route is then not served.
func (s *server) leakedHandler() gin.HandlerFunc {
	if s.Leaks == nil {
		return nil
	}
	return s.reportLeaked
}

// reportLeaked: POST /v1/keys/leaked, public. The rate and the signature are checked
// on the raw body before it is parsed.
func (s *server) reportLeaked(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeProblem(c, problem{Title: "Payload Too Large", Status: http.StatusRequestEntityTooLarge,
			Detail: "request bodies are limited to 64 KiB"})
		return
	}
	if err != nil {
		_ = c.Error(badRequest("the body could not be read"))
		return
	}
	adm, err := s.Leaks.Admit(c.Request.Context(), c.ClientIP(), body, c.GetHeader(leaks.HeaderKeyID), c.GetHeader(leaks.HeaderSignature))
	var limited *leaks.RateLimited
	if errors.As(err, &limited) {
		secs := max(1, int((limited.RetryAfter.Seconds())+0.999))
		c.Header("Retry-After", strconv.Itoa(secs))
		writeProblem(c, problem{Title: "Too Many Requests", Status: http.StatusTooManyRequests,
			Detail: "too many reports from this address; retry after " + strconv.Itoa(secs) + " s"})
		return
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	if ct := c.ContentType(); ct != "application/json" {
		writeProblem(c, problem{Title: "Unsupported Media Type", Status: http.StatusUnsupportedMediaType,
			Detail: "the report must be application/json"})
		return
	}
	var reports []leaks.Report
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&reports); err != nil || dec.More() {
		_ = c.Error(badRequest("the body must be one JSON array of {token, type, url, source} objects with string values"))
		return
	}
	if err := leaks.Check(reports); err != nil {
		_ = c.Error(err)
		return
	}
	who := audit.Actor{ID: "secret-scanner", Name: "secret-scanner", IP: c.ClientIP(), RequestID: requestID(c)}
	if id := c.GetHeader(leaks.HeaderKeyID); id != "" {
		who.Name = "secret-scanner:" + id[:min(len(id), 16)]
	}
	verdicts, err := s.Leaks.Handle(c.Request.Context(), who, adm, reports)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, verdicts)
}

// leakPaths documents the report route.
func leakPaths(doc *openapi3.T) {
	op := operation("reportLeakedKeys", "Report leaked keys (secret scanning partner format); valid ones are revoked at once", false,
		resp{status: 200, desc: "a label per reported token: true_positive when it was a live key of this Keyward", schema: listSchema[api.LeakVerdict](api.Rule{MaxItems: api.LeakReportsMax}, false)},
		problemResp(http.StatusBadRequest, "not an array of reports, too many, or a field too long or not text"),
		problemResp(http.StatusUnauthorized, "reporter signatures are required and this report is unsigned or badly signed"),
		problemResp(http.StatusRequestEntityTooLarge, "body over 64 KiB"),
		problemResp(http.StatusUnsupportedMediaType, "not application/json"),
		problemResp(http.StatusTooManyRequests, "too many reports from this address; see Retry-After"),
		problemResp(http.StatusInternalServerError, "an internal error; the detail quotes the request id"),
		problemResp(http.StatusServiceUnavailable, "the database cannot be reached; see Retry-After"))
	op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
		WithJSONSchemaRef(listSchema[api.LeakReport](api.LeakReports, true))}
	op.Parameters = openapi3.Parameters{
		{Value: openapi3.NewHeaderParameter(leaks.HeaderKeyID).WithSchema(openapi3.NewStringSchema()).
			WithDescription("identifier of the reporter's public key (required when reporter keys are configured)")},
		{Value: openapi3.NewHeaderParameter(leaks.HeaderSignature).WithSchema(openapi3.NewStringSchema()).
			WithDescription("base64 ASN.1 DER ECDSA P-256 signature of the SHA-256 of the raw body")},
	}
	doc.Paths.Set(leakedRoute, &openapi3.PathItem{Post: op})
}
