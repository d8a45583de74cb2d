package api

// Page is the envelope of every list answer; NextCursor is null on the last page.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor" doc:"opaque cursor of the next page; null on the last"`
}

// Paging bounds of every list. 200 is the largest page the admin lists allowed before;
// the key and audit lists allowed 100, and widening them refuses no request that
// worked, where narrowing the admin lists would.
const (
	PageLimitDefault = 50
	PageLimitMax     = 200
	// CursorMax bounds a cursor: the longest sort value of a row (a 100-character
	// name, escaped in JSON) fits with room to spare.
	CursorMax = 2048
)

// Orders are the sort orders of a list.
var Orders = []string{"asc", "desc"}

func (Page[T]) Rules() Rules { return Rules{"items": {MaxItems: PageLimitMax}} }
