package cli

import (
	"testing"
)

// newConsumer creates consumer name with the ACL groups through the commands.
func (f *tf) newConsumer(t *testing.T, name string, groups ...string) {
	t.Helper()
	for _, g := range groups {
		f.run(t, NewCmdACLGroupsCreate(f.Factory, nil), g) // may exist already
	}
	args := []string{"--name", name}
	for _, g := range groups {
		args = append(args, "--acl-group", g)
	}
	f.must(t, NewCmdConsumersCreate(f.Factory, nil), args...)
}
