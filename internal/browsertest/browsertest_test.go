package browsertest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto"
)

func TestStaleNode_OnlyDevToolsMissingNode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("send keys: %w", &cdproto.Error{Code: -32000, Message: "Could not find node with given id"}), true},
		{&cdproto.Error{Code: -32000, Message: "No node with given id found"}, true},
		{&cdproto.Error{Code: -32000, Message: "Cannot find context with specified id"}, false},
		{errors.New("could not find node with given id"), false}, // not from DevTools
		{nil, false},
	} {
		if got := staleNode(tc.err); got != tc.want {
			t.Errorf("staleNode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
