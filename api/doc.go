// Package api is the /v1 wire contract: the request and response bodies, their
// enums and bounds, declared once and imported by the handlers, the Go client (and
// through it the CLI) and the console's forms.
//
// It is code-first: each type's fields carry their JSON name (`json`) and description
// (`doc`), and a type's Rules state what reflection cannot see (lengths, patterns,
// enums, ranges, required request fields). The handlers derive the OpenAPI document
// from these types (handlers/wire.go), and the services enforce the bounds declared
// here. Code-first rather than spec-first: the compiler then holds the handlers, the
// client and the CLI to one declaration with no generation step, and the conformance
// test (handlers/openapi_conformance_test.go) holds the server to the document.
//
// The package imports the standard library only, so the Go client carries none of the
// server's dependencies; that is why the bounds live here and not in the services.
package api
