package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// Get returns one key the caller may see.
func (k *Service) Get(ctx context.Context, a audit.Actor, id string) (Key, error) {
	row, err := k.store.KeyByID(ctx, ownerScope(a), id)
	if err != nil {
		return Key{}, err
	}
	return k.key(row), nil
}

// ListParams are the caller's list options, validated by List.
type ListParams struct {
	Owner       string // admins: user id or username; users: only themselves
	Consumer    string // admins: consumer id or name
	Query       string
	Status      string
	Environment string
	Expires     string
	Sort        string
	Order       string
	Limit       int
	Cursor      string
}

// Page is one page of keys.
type Page struct {
	Items      []Key
	NextCursor string
}

// listOwner is the owner whose keys a can list when asking for owner's ("": any
// owner, for admins); none when owner names no user.
func (k *Service) listOwner(ctx context.Context, a audit.Actor, owner string) (ownerID string, none bool, err error) {
	ownerID = ownerScope(a)
	if owner != "" && owner != a.ID && owner != a.Name {
		if !a.Admin {
			return "", false, errs.Because(ErrForbidden, "only admins list other users' keys")
		}
		if k.users == nil {
			return "", false, errors.New("no user directory configured")
		}
		u, err := k.findOwner(ctx, owner)
		if errors.Is(err, keycloak.ErrNotFound) {
			return "", true, nil
		}
		if err != nil {
			return "", false, err
		}
		ownerID = u.ID
	} else if owner != "" {
		ownerID = a.ID
	}
	return ownerID, false, nil
}

// List returns a page of keys: the caller's own, or for admins any owner's.
func (k *Service) List(ctx context.Context, a audit.Actor, p ListParams) (Page, error) {
	verr := &errs.Validation{}
	// The filters of api's enums; empty is as if absent.
	check := func(field, v string, allowed []string) {
		if v != "" && !slices.Contains(allowed, v) {
			verr.Add(field, "must be one of "+strings.Join(allowed, ", "))
		}
	}
	check("status", p.Status, api.KeyStatuses)
	check("expires", p.Expires, api.KeyExpiresFilters)
	check("sort", p.Sort, api.KeySorts)
	check("environment", p.Environment, api.Environments)
	if p.Order != "" && p.Order != "asc" && p.Order != "desc" {
		verr.Add("order", "must be asc or desc")
	}
	limit, ok := page.Limit(p.Limit)
	if !ok {
		verr.Add("limit", page.LimitRule)
	}
	if !utf8.ValidString(p.Query) || utf8.RuneCountInString(p.Query) > api.KeyQueryMax || strings.ContainsRune(p.Query, 0) {
		verr.Add("q", fmt.Sprintf("must be valid text of at most %d characters", api.KeyQueryMax))
	}
	sort := p.Sort
	if sort == "" {
		sort = "created_at"
	}
	desc := p.Order != "asc"
	scope := listScope(p, sort, desc)
	after, ok := scope.Position(p.Cursor)
	if !ok {
		verr.Add("cursor", page.CursorRule)
	}
	if err := verr.Err(); err != nil {
		return Page{}, err
	}

	ownerID, none, err := k.listOwner(ctx, a, p.Owner)
	if p.Consumer != "" {
		ownerID, none, err = k.listConsumerOwner(ctx, a, p)
	}
	if err != nil || none {
		return Page{Items: []Key{}}, err
	}
	filter := models.KeyFilter{
		OwnerID:      ownerID,
		Query:        p.Query,
		MatchOwner:   a.Admin,
		Status:       p.Status,
		Environment:  p.Environment,
		Expires:      p.Expires,
		Now:          k.clock(),
		ExpiringSoon: ExpiringSoonWindow, // the status rule of row.go, in SQL
		Sort:         sort,
		Desc:         desc,
		Limit:        limit + 1, // one extra row tells whether another page exists
	}
	if after != nil {
		filter.After = &models.ListPosition{Text: after.Text, At: after.At, Null: after.Null, ID: after.ID}
	}
	rows, err := k.store.ListKeys(ctx, filter)
	if err != nil {
		return Page{}, fmt.Errorf("list keys: %w", err)
	}
	var next string
	if len(rows) > limit {
		rows = rows[:limit]
		next = scope.Cursor(positionOf(rows[limit-1], sort))
	}
	out := Page{Items: k.toKeys(rows), NextCursor: next}
	return out, nil
}
