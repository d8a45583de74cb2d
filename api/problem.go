package api

// Problem is an RFC 9457 problem+json answer.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title" doc:"short summary"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty" doc:"what is wrong, for a human"`
	Errors []FieldError `json:"errors,omitempty" doc:"every invalid field (400 only)"`
}

// FieldError is one invalid field of a 400.
type FieldError struct {
	Field   string `json:"field" doc:"the JSON field or query parameter, e.g. rate_limit.requests or acl_groups[2]"`
	Message string `json:"message" doc:"what is wrong with it"`
}

// Rules of a problem; the document states each answer's status.
func (Problem) Rules() Rules {
	return Rules{"type": {Enum: []string{ProblemType}}, "title": {MinLen: 1}, "errors": {MinItems: 1}}
}

// ProblemType is the type of every problem: the status says it all.
const ProblemType = "about:blank"
