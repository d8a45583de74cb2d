package recipe

import "testing"

func TestFill(t *testing.T) {
	got, err := Fill("listen ${LISTEN}; proxy_set_header X $host;", map[string]string{"LISTEN": "127.0.0.1:1"})
	if err != nil || got != "listen 127.0.0.1:1; proxy_set_header X $host;" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := Fill("listen ${LISTEN};", nil); err == nil {
		t.Error("a placeholder without a value was accepted")
	}
	if _, err := Fill("listen 1;", map[string]string{"LISTEN": "x"}); err == nil {
		t.Error("a value without a placeholder was accepted")
	}
}
