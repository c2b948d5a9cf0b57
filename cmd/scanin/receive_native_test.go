package main

import (
	"strings"
	"testing"

	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

// TestReceiveNativeReceiversDenied runs `scanin receive` against a real
// relay whose app does not allow native receivers: the relay's 403
// origin_denied, its code and its message, reach the user in a sentence
// that names native_receivers, the setting that allows it.
func TestReceiveNativeReceiversDenied(t *testing.T) {
	t.Parallel()
	cfg, err := server.ParseConfig("relay.json", []byte(`{"apps": [{"id": "web", "name": "Web Shop", "origins": ["https://shop.example"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	relay := relaytest.NewServer(t, cfg)
	for _, jsonOut := range []bool{false, true} {
		args := []string{"receive", "--relay", relay.URL(), "--app", "web", "--once"}
		if jsonOut {
			args = append(args, "--json")
		}
		r := scanin(t, "", args...)
		what := strings.Join(args, " ")
		wantExit(t, what, r, receiveFailed)
		for _, want := range []string{"origin_denied", `app "web" does not allow native receivers`, `"native_receivers": true`} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr %q does not say %q", what, r.stderr, want)
			}
		}
		if jsonOut && !strings.Contains(r.stdout, `"code":"origin_denied"`) {
			t.Errorf("%s: stdout %q, want an error event with code origin_denied", what, r.stdout)
		}
	}
}
