package relaytest_test

import (
	"net/http"
	"testing"

	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/conformance"
	"github.com/scanin/scanin/server/relaytest"
)

// TestServerPassesConformance runs the conformance suite against the
// in-process relay, so `go test -race` sees the relay under the suite's
// load: the demo app, and an app that does not allow native receivers.
func TestServerPassesConformance(t *testing.T) {
	web := server.App{ID: "web", Name: "Web only", Origins: []string{"http://localhost:3000"}}
	srv := relaytest.NewServer(t, server.Config{NoRateLimit: true, Apps: []server.App{server.DemoApp(), web}})
	conformance.Run(t, conformance.Target{URL: srv.URL(), Race: 300, WebOnlyApp: web.ID})
}

func TestCloseStopsServing(t *testing.T) {
	srv := relaytest.NewServer(t, server.Config{})
	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	srv.Close()
	srv.Close() // twice is fine
	if resp, err := http.Get(srv.URL() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the server answers after Close")
	}
}
