package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// Get returns one key the caller may see.
func (k *Service) Get(ctx context.Context, a audit.Actor, id string) (models.Key, error) {
	return k.store.KeyByID(ctx, ownerScope(a), id)
}

// ListParams are the caller's list options, validated by List.
type ListParams struct {
	Owner       string // admins: user id or username; users: only themselves
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
	Items      []models.Key
	NextCursor string
}

var (
	listStatuses = map[string]bool{"": true, "active": true, "inactive": true, "expired": true, "expiring_soon": true}
	listExpires  = map[string]bool{"": true, "30d": true, "expired": true, "never": true}
	listSorts    = map[string]bool{"": true, "created_at": true, "expires_at": true, "name": true, "last_used_at": true}
	listEnvs     = map[string]bool{"": true, "development": true, "staging": true, "production": true}
)

// List returns a page of keys: the caller's own, or for admins any owner's.
func (k *Service) List(ctx context.Context, a audit.Actor, p ListParams) (Page, error) {
	verr := &errs.Validation{}
	check := func(field, v string, allowed map[string]bool, want string) {
		if !allowed[v] {
			verr.Add(field, "must be one of "+want)
		}
	}
	check("status", p.Status, listStatuses, "active, inactive, expired, expiring_soon")
	check("expires", p.Expires, listExpires, "30d, expired, never")
	check("sort", p.Sort, listSorts, "created_at, expires_at, name, last_used_at")
	check("environment", p.Environment, listEnvs, "development, staging, production")
	if p.Order != "" && p.Order != "asc" && p.Order != "desc" {
		verr.Add("order", "must be asc or desc")
	}
	if p.Limit < 0 || p.Limit > MaxPageSize {
		verr.Add("limit", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	if !utf8.ValidString(p.Query) || utf8.RuneCountInString(p.Query) > 200 || strings.ContainsRune(p.Query, 0) {
		verr.Add("q", "must be valid text of at most 200 characters")
	}
	offset, ok := decodeCursor(p.Cursor)
	if !ok {
		verr.Add("cursor", "is not a cursor returned by this API")
	}
	if err := verr.Err(); err != nil {
		return Page{}, err
	}

	ownerID := ownerScope(a)
	if p.Owner != "" && p.Owner != a.ID && p.Owner != a.Name {
		if !a.Admin {
			return Page{}, errs.Because(ErrForbidden, "only admins list other users' keys")
		}
		if k.users == nil {
			return Page{}, errors.New("no user directory configured")
		}
		u, err := k.users.FindUser(ctx, p.Owner)
		if errors.Is(err, keycloak.ErrNotFound) {
			return Page{Items: []models.Key{}}, nil
		}
		if err != nil {
			return Page{}, fmt.Errorf("find owner: %w", err)
		}
		ownerID = u.ID
	} else if p.Owner != "" {
		ownerID = a.ID
	}
	limit := p.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	sort := p.Sort
	if sort == "" {
		sort = "created_at"
	}
	// One extra row tells whether another page exists.
	rows, err := k.store.ListKeys(ctx, models.KeyFilter{
		OwnerID:     ownerID,
		Query:       p.Query,
		MatchOwner:  a.Admin,
		Status:      p.Status,
		Environment: p.Environment,
		Expires:     p.Expires,
		Now:         k.clock(),
		Sort:        sort,
		Desc:        p.Order != "asc",
		Limit:       limit + 1,
		Offset:      offset,
	})
	if err != nil {
		return Page{}, fmt.Errorf("list keys: %w", err)
	}
	page := Page{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.NextCursor = encodeCursor(offset + limit)
	}
	return page, nil
}
