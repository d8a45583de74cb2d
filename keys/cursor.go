package keys

import (
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/models"
)

// listScope is the cursor scope of a key list: its sort order and the filter the
// caller gave (the owner as given, not as resolved, so that the check needs no
// lookup).
func listScope(p ListParams, sort string, desc bool) page.Scope {
	if desc {
		sort = "-" + sort
	}
	return page.For("keys", sort, p.Owner, p.Query, p.Status, p.Environment, p.Expires)
}

// positionOf is k's keyset position in a list sorted by sort.
func positionOf(k models.Key, sort string) page.Position {
	return page.Position(k.Position(sort))
}
