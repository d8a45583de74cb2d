package keys

import (
	"context"
	"slices"
	"testing"
)

// Paging with the cursor gives every key once, in the order of one big page, for
// every sort and direction: ties (one creation time), and NULLs (never expiring,
// never used) included.
func TestList_CursorPages_EveryKeyOnceInOrder(t *testing.T) {
	f := newFixture(t, nil)
	for i, name := range []string{"e", "b", "d", "a", "c"} {
		p := CreateParams{Name: name}
		if i%2 == 0 {
			p.ExpiresInDays = ptr(10 + i)
		} else {
			p.NeverExpires = ptr(true)
		}
		f.create(t, alice, p)
	}
	ids := func(keys Page) []string {
		var out []string
		for _, k := range keys.Items {
			out = append(out, k.ID)
		}
		return out
	}
	for _, sort := range []string{"created_at", "expires_at", "name", "last_used_at"} {
		for _, order := range []string{"asc", "desc"} {
			all, err := f.svc.List(context.Background(), alice, ListParams{Sort: sort, Order: order})
			if err != nil || len(all.Items) != 5 || all.NextCursor != "" {
				t.Fatalf("%s %s: one page %d keys, next %q, %v", sort, order, len(all.Items), all.NextCursor, err)
			}
			var paged []string
			p := ListParams{Sort: sort, Order: order, Limit: 2}
			for range 5 {
				got, err := f.svc.List(context.Background(), alice, p)
				if err != nil {
					t.Fatalf("%s %s: %v", sort, order, err)
				}
				paged = append(paged, ids(got)...)
				if got.NextCursor == "" {
					break
				}
				p.Cursor = got.NextCursor
			}
			if !slices.Equal(paged, ids(all)) {
				t.Errorf("%s %s: pages give %v, want %v", sort, order, paged, ids(all))
			}
		}
	}
}

// A cursor pages on only for the sort and filter it was made for.
func TestList_CursorOfAnotherListing_Refused(t *testing.T) {
	f := newFixture(t, nil)
	for _, name := range []string{"a", "b"} {
		f.create(t, alice, CreateParams{Name: name})
	}
	first, err := f.svc.List(context.Background(), alice, ListParams{Sort: "name", Limit: 1})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	for name, p := range map[string]ListParams{
		"another order":  {Sort: "name", Order: "asc"},
		"another sort":   {Sort: "created_at"},
		"another filter": {Sort: "name", Status: "active"},
		"another owner":  {Sort: "name", Owner: "alice"},
	} {
		p.Cursor = first.NextCursor
		if _, err := f.svc.List(context.Background(), alice, p); fieldsOf(err)["cursor"] == "" {
			t.Errorf("%s: %v, want a cursor problem", name, err)
		}
	}
}
