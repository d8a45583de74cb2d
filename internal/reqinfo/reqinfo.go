// Package reqinfo carries what the HTTP layer learned about a request (the client
// address as the trusted-proxy rules make it, the request id) to handlers that are
// plain net/http, such as the web console.
package reqinfo

import "context"

// Info is the request's client address and id.
type Info struct {
	ClientIP  string
	RequestID string
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info Info) context.Context { return context.WithValue(ctx, key{}, info) }

// From returns the Info of ctx, zero when none was set.
func From(ctx context.Context) Info {
	info, _ := ctx.Value(key{}).(Info)
	return info
}
