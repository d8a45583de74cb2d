package provisioning

import (
	"slices"
	"testing"
	"time"
)

// A consumers cursor pages on only for the sort and filter it was made for: another
// filter would skip or repeat rows, so it is refused as the cursor field.
func TestConsumers_List_CursorOfAnotherFilter_Refused(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		if _, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: n, Environment: "staging"}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	first, err := e.svc.ListConsumers(ctx, ConsumerQuery{Environment: "staging", Limit: 1})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	next, err := e.svc.ListConsumers(ctx, ConsumerQuery{Environment: "staging", Limit: 2, Cursor: first.NextCursor})
	if err != nil || len(next.Items) != 2 || next.Items[0].Name != "bravo" {
		t.Fatalf("same filter, another page size: %+v, %v", next, err)
	}
	for name, q := range map[string]ConsumerQuery{
		"no filter":      {},
		"another filter": {Environment: "production"},
		"added q":        {Environment: "staging", Q: "a"},
		"another sort":   {Environment: "staging", Sort: "-name"},
		"another column": {Environment: "staging", Sort: "created_at"},
	} {
		q.Cursor = first.NextCursor
		if _, err := e.svc.ListConsumers(ctx, q); err == nil {
			t.Errorf("%s: accepted", name)
		} else if got := fieldsOf(t, err); !slices.Equal(got, []string{"cursor"}) {
			t.Errorf("%s: fields %v, want [cursor]", name, got)
		}
	}
}
