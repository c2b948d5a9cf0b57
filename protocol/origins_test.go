package protocol

import (
	"encoding/json"
	"os"
	"testing"
)

// originTable is testdata/origins.json: the origin-matching cases that the
// Go rule (OriginAllowed) and its JavaScript copy in embed.js
// (Scanin.originAllowed, tested in Chromium by e2e) must both pass.
type originTable struct {
	Tables []struct {
		Patterns []string `json:"patterns"`
		Cases    []struct {
			Origin  string `json:"origin"`
			Allowed bool   `json:"allowed"`
			Why     string `json:"why"`
		} `json:"cases"`
	} `json:"tables"`
}

func TestOriginTable(t *testing.T) {
	b, err := os.ReadFile("testdata/origins.json")
	if err != nil {
		t.Fatal(err)
	}
	var table originTable
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatalf("testdata/origins.json: %v", err)
	}
	n := 0
	for _, tb := range table.Tables {
		for _, c := range tb.Cases {
			n++
			if got := OriginAllowed(tb.Patterns, c.Origin); got != c.Allowed {
				t.Errorf("OriginAllowed(%q, %q) = %v, want %v (%s)", tb.Patterns, c.Origin, got, c.Allowed, c.Why)
			}
		}
	}
	if n < 40 {
		t.Fatalf("testdata/origins.json has %d cases; the table lost some", n)
	}
}
