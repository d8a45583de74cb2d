package cli

import (
	"context"
	"errors"
	"regexp"

	"github.com/keyward/keyward/client"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// allPages follows next_cursor to the end.
func allPages[T any](ctx context.Context, page func(ctx context.Context, cursor string) (client.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		p, err := page(ctx, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" || p.NextCursor == cursor {
			return out, nil
		}
		cursor = p.NextCursor
	}
}

// findByRef finds the object a command argument names: by id when it looks like one
// (and exists), else the first object of the list that matches; missing otherwise.
func findByRef[T any](ctx context.Context, ref string, byID func(context.Context, string) (T, error),
	list func(ctx context.Context, cursor string) (client.Page[T], error), matches func(T) bool, missing error) (T, error) {
	if uuidPattern.MatchString(ref) {
		v, err := byID(ctx, ref)
		if !errors.Is(err, client.ErrNotFound) {
			return v, err
		}
	}
	var zero T
	all, err := allPages(ctx, list)
	if err != nil {
		return zero, err
	}
	for _, v := range all {
		if matches(v) {
			return v, nil
		}
	}
	return zero, missing
}
