package provisioning

import (
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func TestConsumerOf_MapsTheRow_GroupsNeverNilNorShared(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	row := models.Consumer{ID: "c1", Name: "shop", Description: "d", Environment: "staging", ACLGroups: []string{"a", "b"},
		Version: 3, CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
	c := consumerOf(row)
	if c.ID != "c1" || c.Name != "shop" || c.Description != "d" || c.Environment != "staging" || len(c.ACLGroups) != 2 ||
		!c.CreatedAt.Equal(at) || !c.UpdatedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("mapped as %+v", c)
	}
	c.ACLGroups[0] = "changed"
	if row.ACLGroups[0] != "a" {
		t.Fatal("the domain value shares the row's group list")
	}
	if g := consumerOf(models.Consumer{}).ACLGroups; g == nil || len(g) != 0 {
		t.Fatalf("no groups mapped as %#v", g)
	}
}
